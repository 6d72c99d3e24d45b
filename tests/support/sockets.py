"""Real WebSocket clients (the `websockets` library) for the live slot and provider feeds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

Frame = dict[str, Any]


def session_cookie_header(client: httpx.AsyncClient) -> dict[str, str]:
    """The cookies of a signed-in HTTP client, as a WebSocket handshake header."""
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"Cookie": cookies}


def ws_url(http_url: str, path: str) -> str:
    return "ws" + http_url.removeprefix("http") + path


class Watcher:
    """A socket on /ws/services/{id}/slots and the view a client keyed by start time keeps."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[Frame] = []
        self.view: dict[str, Frame] = {}

    async def receive(self, timeout: float = 5) -> Frame:
        async with asyncio.timeout(timeout):
            frame: Frame = orjson.loads(await self.connection.recv())
        self.frames.append(frame)
        self._apply(frame)
        return frame

    def _apply(self, frame: Frame) -> None:
        if frame["type"] == "snapshot":
            self.view = {slot["start_time"]: slot for slot in frame["slots"]}
        elif frame["type"] == "slot":
            self._apply_slot(frame["slot"], bool(frame.get("removed")))
        elif frame["type"] == "slots":
            for slot in frame["slots"]:
                public = {key: value for key, value in slot.items() if key != "removed"}
                self._apply_slot(public, bool(slot.get("removed")))

    def _apply_slot(self, slot: Frame, removed: bool) -> None:
        if removed:
            if self.view.get(slot["start_time"], {}).get("id") == slot["id"]:
                del self.view[slot["start_time"]]
        else:
            self.view[slot["start_time"]] = slot

    async def receive_until(self, done: Callable[[Frame], bool], timeout: float = 5) -> Frame:
        """Frames until one satisfies `done` (applying each to the view); that frame."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.receive(timeout)
                if done(frame):
                    return frame

    async def wait_for_view(
        self, check: Callable[[dict[str, Frame]], bool], timeout: float = 5
    ) -> None:
        async with asyncio.timeout(timeout):
            while not check(self.view):
                await self.receive(timeout)


@asynccontextmanager
async def watch_slots(
    base_url: str, service_id: str, first: date, last: date | None = None, **options: Any
) -> AsyncIterator[Watcher]:
    """A watcher that has already received its first snapshot."""
    query = f"?from={first.isoformat()}&to={(last or first).isoformat()}"
    url = ws_url(base_url, f"/ws/services/{service_id}/slots{query}")
    async with connect(url, open_timeout=10, **options) as connection:
        watcher = Watcher(connection)
        first_frame = await watcher.receive(10)
        assert first_frame["type"] == "snapshot", first_frame
        yield watcher


async def close_code_of(url: str, **options: Any) -> int | None:
    """Connect, and return the code the server closes with."""
    async with connect(url, open_timeout=10, **options) as connection:
        try:
            async with asyncio.timeout(5):
                await connection.recv()
        except Exception:  # noqa: S110 - the close is what we are waiting for
            pass
        return connection.close_code
