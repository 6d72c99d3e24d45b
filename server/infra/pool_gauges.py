"""Database pool use (connections in use, callers waiting) for /metrics, per process.

Each process samples its own pools (the app's, real time's, the worker's) about once a second
into the multi-process gauges, which /metrics sums over the live processes. asyncpg does not
count the callers waiting for a connection; its pool's queue of free connections does.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from server.infra.metrics import DB_POOL_IN_USE, DB_POOL_WAITING

SAMPLE_SECONDS = 1.0

# asyncpg pools take no weak references: a closed pool is dropped at the next sample.
_pools: set[Any] = set()
_samplers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
    weakref.WeakKeyDictionary()
)


def watch_pool(pool: Any) -> None:
    """Count `pool` in this process's figures until it is closed."""
    _pools.add(pool)
    loop = asyncio.get_running_loop()
    sampler = _samplers.get(loop)
    if sampler is None or sampler.done():
        _samplers[loop] = loop.create_task(_sample_while_open(), name="appointly-pool-gauges")


def sample_pools() -> None:
    """Set this process's gauges from its open pools now (also done right before a scrape)."""
    in_use = waiting = 0
    for pool in tuple(_pools):
        if pool.is_closing():
            _pools.discard(pool)
            continue
        in_use += pool.get_size() - pool.get_idle_size()
        queue = getattr(pool, "_queue", None)  # asyncpg's queue of free connections
        waiting += sum(not getter.done() for getter in getattr(queue, "_getters", ()))
    DB_POOL_IN_USE.set(in_use)
    DB_POOL_WAITING.set(waiting)


async def _sample_while_open() -> None:
    while True:
        sample_pools()
        if not _pools:
            return
        await asyncio.sleep(SAMPLE_SECONDS)
