"""Serve an ASGI app with Hypercorn on a free loopback port inside the test event loop."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    port: int
    _shutdown: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[Any] | None = None

    async def stop(self) -> None:
        self._shutdown.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=15)


async def start_asgi(app: Any, port: int | None = None) -> RunningServer:
    """Start `app` and return once it accepts connections."""
    port = port or free_port()
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1
    server = RunningServer(url=f"http://127.0.0.1:{port}", port=port)
    server._task = asyncio.create_task(
        serve(app, config, shutdown_trigger=server._shutdown.wait, mode="asgi")
    )
    await _wait_until_listening(port, server._task)
    return server


async def _wait_until_listening(port: int, task: asyncio.Task[Any]) -> None:
    async with asyncio.timeout(20):
        while True:
            if task.done():
                task.result()  # re-raise the startup failure
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            return
