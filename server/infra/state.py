"""What the running app owns (config, database pool, Redis) and the per-request connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from quart import current_app, g
from redis.asyncio import Redis

from realtime.cluster_publisher import Publisher
from server.infra.config import Config

EXTENSION_KEY = "appointly"


@dataclass
class AppState:
    config: Config
    pool: Any = None  # asyncpg.Pool once the app is serving
    redis: Redis | None = None
    # An arq client for handing work to the worker after a commit (server.infra.job_queue).
    jobs: Redis | None = None
    # Real time's Redis: what publishes changes, and what the broker listens on (both are
    # `redis` unless REDIS_PUBSUB_URL names another, e.g. a Redis Cluster).
    publisher: Publisher | None = None
    pubsub: Redis | None = None

    def require_redis(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("Redis is not connected yet")
        return self.redis


def app_state() -> AppState:
    state: AppState = current_app.extensions[EXTENSION_KEY]
    return state


def config() -> Config:
    return app_state().config


def redis() -> Redis:
    return app_state().require_redis()


def publisher() -> Publisher:
    """What publishes real-time changes (the app's Redis unless REDIS_PUBSUB_URL is set)."""
    state = app_state()
    return state.publisher if state.publisher is not None else state.require_redis()


def jobs() -> Redis | None:
    return app_state().jobs


async def db() -> asyncpg.Connection:
    """The request's database connection, acquired on first use and released at teardown.

    Waiting for a free connection is bounded by `db_acquire_timeout`: a TimeoutError, which
    the client sees as 503 `busy` (server.edge.outages), rather than a request that hangs.
    """
    conn: asyncpg.Connection | None = g.get("_db_conn")
    if conn is None:
        state = app_state()
        conn = await state.pool.acquire(timeout=state.config.db_acquire_timeout)
        g._db_conn = conn
    return conn


async def release_db(_: BaseException | None = None) -> None:
    """Give the request's connection back to the pool (at teardown, or before slow work that
    needs no database, such as password hashing; the next `db()` takes another)."""
    conn = g.pop("_db_conn", None)
    if conn is not None:
        await app_state().pool.release(conn)
