"""Every Redis client Appointly opens, with timeouts: a Redis that stops answering (a half-open
connection, a black-holed network) costs a request at most `redis_timeout`, never minutes.

Without a socket timeout a read on a dead connection waits for TCP to give up (~15 minutes);
keepalive lets the kernel notice a dead peer on an idle connection, and the health check pings
a connection that sat idle before trusting it with a command.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from arq.connections import RedisSettings
from redis.asyncio import Redis

from realtime.cluster_publisher import ClusterAwarePublisher, Publisher
from server.infra.config import Config

# A pooled connection idle this long is pinged before its next command.
HEALTH_CHECK_SECONDS = 15


def redis_options(url: str, config: Config) -> dict[str, Any]:
    """Connection options for every Redis client of the app, the worker and the broker."""
    options: dict[str, Any] = {
        "socket_timeout": config.redis_timeout,
        "socket_connect_timeout": config.redis_timeout,
        "health_check_interval": HEALTH_CHECK_SECONDS,
        # A timed-out command is not retried: the caller decides (log and move on, or 503).
        "retry_on_timeout": False,
    }
    if urlsplit(url).scheme != "unix":  # keepalive is a TCP option (embedded Redis is a socket)
        options["socket_keepalive"] = True
    return options


def open_redis(url: str, config: Config) -> Redis:
    """A Redis client on `url` with the app's timeouts."""
    client: Redis = Redis.from_url(url, **redis_options(url, config))
    return client


def open_publisher(config: Config, app_redis: Redis | None = None) -> Publisher:
    """What publishes real-time changes: with REDIS_PUBSUB_URL a publisher that finds out whether
    it is a cluster node (then SPUBLISH); else `app_redis` (or a new client on REDIS_URL)."""
    url = config.redis_pubsub_url
    if url is not None:
        return ClusterAwarePublisher(url, redis_options(url, config))
    if app_redis is not None:
        return app_redis
    assert config.redis_url is not None
    return open_redis(config.redis_url, config)


def open_subscriber_redis(config: Config, app_redis: Redis) -> Redis:
    """The Redis the broker listens on: REDIS_PUBSUB_URL's (plain or a cluster node, which the
    broker finds out), else `app_redis`."""
    url = config.redis_pubsub_url
    return app_redis if url is None else open_redis(url, config)


def worker_redis_settings(url: str, config: Config) -> RedisSettings:
    """arq's settings for `url`: a bounded connect, retried a few times at start."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = max(1, round(config.redis_timeout))
    settings.conn_retries = 5
    settings.conn_retry_delay = 1
    return settings
