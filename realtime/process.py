"""What one process owns for its live sockets: the broker, the slot feed and their pool.

The web app (realtime.sockets) and the socket tier (realtime.tier) open the same thing, so both
paths share one Redis subscription design, one slot feed and one way of reading snapshots.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from redis.asyncio import Redis

from realtime.broker import Broker, pass_through
from realtime.slot_feed import SlotFeed
from server.infra.config import Config
from server.infra.db import create_pool
from server.models.services import Service, select_service


class Realtime:
    """The broker, the slot feed and real time's own small database pool (snapshots, the
    broker's re-reads), so sockets and pages never wait for each other's connections."""

    def __init__(self, broker: Broker, feed: SlotFeed, pool: Any, acquire_timeout: float) -> None:
        self.broker = broker
        self.feed = feed
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self._service_reads: dict[UUID, asyncio.Task[Service | None]] = {}

    async def read_service(self, service_id: UUID) -> Service | None:
        """The service a slots socket asks for. Sockets asking at once share one read (a crowd
        connecting to one service costs one query, not one each); no answer is kept after it."""
        read = self._service_reads.get(service_id)
        if read is None:
            read = asyncio.create_task(self._select_service(service_id))
            self._service_reads[service_id] = read
            read.add_done_callback(lambda _: self._service_reads.pop(service_id, None))
        return await asyncio.shield(read)

    async def _select_service(self, service_id: UUID) -> Service | None:
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
            return await select_service(conn, service_id)

    async def close(self) -> None:
        await self.broker.stop()
        await self.pool.close()


async def open_realtime(config: Config, redis: Redis, *, pool_size: int | None = None) -> Realtime:
    """Open real time's pool and start this process's one Redis subscription."""
    assert config.database_url is not None
    pool = await create_pool(
        config.database_url,
        max_size=pool_size or config.realtime_pool_size,
        statement_timeout=config.db_statement_timeout,
    )
    feed = SlotFeed(pool, acquire_timeout=config.db_acquire_timeout)
    broker = Broker(
        redis,
        {
            "slots": feed.handle,
            "appointments": pass_through,
            "sessions": pass_through,
            "waitlist": pass_through,  # realtime.waitlist_watch
        },
        ping_interval=config.redis_ping_interval,
        pong_timeout=config.redis_timeout,
    )
    broker.start()
    return Realtime(broker, feed, pool, acquire_timeout=config.db_acquire_timeout)
