"""`appointly serve --metrics-bind HOST:PORT`: a second address that answers only /metrics,
without the bearer token, for a scraper on a private network (keep that address unreachable
from the internet; the public address keeps its METRICS_TOKEN rule).

Hypercorn listens on both addresses; the ASGI scope's `server` says which one a request came
in on, and a client cannot choose it.
"""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]

# Set on the scope of a request that came in on the metrics address (read by the route).
LISTENER_KEY = "appointly.metrics_listener"
WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def parse_bind(bind: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets) → (host, port); ValueError if it is not one."""
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not HOST:PORT: {bind!r}")
    return host.strip("[]") if host not in WILDCARDS else "", int(port)


def metrics_bind(text: str) -> str:
    """`--metrics-bind`'s argparse type: the text, once it parses."""
    parse_bind(text)
    return text


class MetricsListener:
    """ASGI middleware: on the metrics address only GET /metrics exists, and it needs no token."""

    def __init__(self, app: Any, bind: str) -> None:
        self.app = app
        self.host, self.port = parse_bind(bind)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or not self._on_metrics_address(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"] != "/metrics":
            await _not_found(scope, send)
            return
        await self.app({**scope, LISTENER_KEY: True}, receive, send)

    def _on_metrics_address(self, scope: Scope) -> bool:
        server = scope.get("server")
        if not server or server[1] != self.port:
            return False
        return not self.host or server[0] == self.host


async def _not_found(scope: Scope, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = b"Only /metrics is served on this address.\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
