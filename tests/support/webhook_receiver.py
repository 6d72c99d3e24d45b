"""A webhook receiver on a real port: records every POST (headers and raw body), can answer
errors for the first few, and can hold requests until told to answer (a worker caught
mid-delivery)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.support.serving import RunningServer, start_asgi


@dataclass(frozen=True)
class Received:
    signature: str
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    """Answers 500 to the first `fail_first` requests, then 200."""

    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    # Cleared: requests are recorded, then wait until it is set before answering.
    answering: asyncio.Event = field(default_factory=asyncio.Event)
    server: RunningServer | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self.answering.set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{self.server.url}/hooks"

    async def start(self) -> WebhookReceiver:
        self.server = await start_asgi(self)
        return self

    async def stop(self) -> None:
        self.answering.set()
        if self.server is not None:
            await self.server.stop()

    async def wait_for(self, done: Callable[[list[Received]], bool], timeout: float = 30) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: done(self.received))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        async with self._changed:
            self.received.append(Received(headers.get("appointly-signature", ""), body))
            status = 500 if len(self.received) <= self.fail_first else 200
            self._changed.notify_all()
        await self.answering.wait()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
