"""The socket tier (realtime.tier) served inside the test event loop, beside a LiveApp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from realtime.tier.server import SocketTier
from server.infra.config import Config


@asynccontextmanager
async def running_tier(config: Config, port: int = 0, **options: Any) -> AsyncIterator[SocketTier]:
    """A tier on loopback (a free port unless given), sharing `config` (SECRET_KEY, BASE_URL,
    databases)."""
    tier = SocketTier(config, **options)
    await tier.start("127.0.0.1", port)
    try:
        yield tier
    finally:
        await tier.stop()


def tier_url(tier: SocketTier) -> str:
    """The tier's address as an http URL (tests.support.sockets.ws_url turns it into ws)."""
    return f"http://127.0.0.1:{tier.port}"
