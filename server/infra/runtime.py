"""Turn unset DATABASE_URL / REDIS_URL into the embedded servers' addresses."""

from __future__ import annotations

import asyncio

from server.infra.config import Config
from server.infra.embedded import embedded_database_url, embedded_redis_url, use_embedded


def uses_embedded(config: Config) -> bool:
    return not (config.database_url and config.redis_url)


def resolve_services(config: Config) -> Config:
    """The same config with both URLs set, starting embedded servers only for unset ones."""
    if uses_embedded(config):
        use_embedded(config.data_dir)
    database_url = config.database_url or embedded_database_url(config.data_dir)
    redis_url = config.redis_url or embedded_redis_url(config.data_dir)
    return config.with_changes(database_url=database_url, redis_url=redis_url)


async def resolve_services_async(config: Config) -> Config:
    if not uses_embedded(config):
        return config
    return await asyncio.to_thread(resolve_services, config)
