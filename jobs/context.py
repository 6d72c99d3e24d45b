"""What every job gets in arq's ctx: the config, a database pool and Redis."""

from __future__ import annotations

from typing import Any

from realtime.cluster_publisher import Publisher
from server.infra.config import Config, load_config
from server.infra.db import create_pool
from server.infra.redis_clients import open_publisher
from server.infra.runtime import resolve_services_async
from server.usecases.effects import Effects, run_effects
from server.usecases.waitlist_offers import use_offer_settings

JobContext = dict[str, Any]


async def open_context(ctx: JobContext, config: Config | None = None) -> None:
    config = await resolve_services_async(config or load_config())
    assert config.database_url and config.redis_url
    ctx["config"] = config
    use_offer_settings(config)  # offers made by jobs (expired holds, passed-on offers)
    ctx["pool"] = await create_pool(config.database_url, max_size=5)
    # What publishes real-time changes (REDIS_PUBSUB_URL's publisher, else a client on REDIS_URL).
    ctx["app_redis"] = open_publisher(config)


async def close_context(ctx: JobContext) -> None:
    # A worker stopped during its startup has opened some of these, or none.
    app_redis: Publisher | None = ctx.pop("app_redis", None)
    if app_redis is not None:
        await app_redis.aclose()
    pool = ctx.pop("pool", None)
    if pool is not None:
        await pool.close()


async def run_job_effects(ctx: JobContext, effects: Effects) -> None:
    """After a job's commit: publish with the app's Redis, nudge through arq's own client
    (absent under `appointly run-job`, where the worker's sweeps pick the work up)."""
    await run_effects(effects, ctx.get("app_redis"), ctx.get("redis"))
