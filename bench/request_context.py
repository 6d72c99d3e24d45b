"""What a request pays for its id, access line and HTTP metrics (server/edge/request_context.py).

One small Quart app answers `GET /ping/<n>`; the raw baseline is that app alone, the project's
figure the same app wrapped as create_app wraps Appointly (request id, route template, counter
and histogram, one access line written to /dev/null in `LOG_FORMAT`). Requests go straight to
the ASGI callable, in rounds alternating the two, so the difference is the layer's own cost and
not the network's. Run: `.venv/bin/python -m bench.request_context --requests 20000`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from quart import Quart

from bench.common import compare, machine_note
from server.edge.request_context import install_request_context
from server.infra.logs import formatter_for, prepare_logging

ROUNDS = 5


def ping_app(*, observed: bool) -> Quart:
    app = Quart(__name__)

    @app.get("/ping/<int:n>")
    async def ping(n: int) -> str:
        return "pong"

    if observed:
        install_request_context(app, ())
    return app


async def call(app: Any, n: int) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/ping/{n}",
        "raw_path": f"/ping/{n}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }
    sent: list[dict[str, Any]] = []
    bodies = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays; Quart cancels this once it answered
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200


async def per_request(app: Quart, requests: int) -> float:
    asgi = app.asgi_app
    started = time.perf_counter()
    for n in range(requests):
        await call(asgi, n)
    return (time.perf_counter() - started) / requests


async def main(requests: int, log_format: str) -> None:
    prepare_logging()
    handler = logging.FileHandler("/dev/null")
    handler.setFormatter(formatter_for(log_format))
    logging.getLogger().handlers = [handler]
    logging.getLogger().setLevel(logging.INFO)
    raw_app, observed_app = ping_app(observed=False), ping_app(observed=True)
    for app in (raw_app, observed_app):
        await app.startup()
        await per_request(app, 200)  # warm up
    raw_times, observed_times = [], []
    for _ in range(ROUNDS):
        raw_times.append(await per_request(raw_app, requests // ROUNDS))
        observed_times.append(await per_request(observed_app, requests // ROUNDS))
    raw, observed = min(raw_times) * 1e6, min(observed_times) * 1e6
    print(f"{requests:,} requests in {ROUNDS} alternating rounds, LOG_FORMAT={log_format}")
    print(compare("time per request (best round)", observed, raw, "µs", higher_is_better=False))
    print(f"the layer's own cost: {observed - raw:,.1f} µs per request")
    print(machine_note())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--log-format", choices=("text", "json"), default="json")
    options = parser.parse_args()
    asyncio.run(main(options.requests, options.log_format))
