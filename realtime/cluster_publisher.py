"""Publishing real-time changes on REDIS_PUBSUB_URL, a plain Redis or a Redis Cluster node.

On a cluster, changes go out with SPUBLISH, which redis-py's cluster client sends to the node
owning the channel's hash slot (following MOVED when slots move); realtime.sharded_pubsub is
the listening side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

# RedisCluster takes the options of a plain client except these.
NOT_FOR_CLUSTER = ("retry_on_timeout", "db")


async def is_cluster(redis: Redis) -> bool:
    """Whether `redis` is a node of a Redis Cluster (`INFO cluster`: cluster_enabled:1)."""
    try:
        info = await redis.info("cluster")
    except ResponseError:  # a server that hides INFO is no cluster node we could use
        return False
    return bool(info.get("cluster_enabled"))


class ClusterAwarePublisher:
    """Publishes on REDIS_PUBSUB_URL: PUBLISH on a plain Redis, SPUBLISH (sent to the channel's
    shard) on a cluster. Which one it is is found out at the first publish, so a Redis that is
    down when the process starts costs only that publish."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self._plain: Redis = Redis.from_url(url, **options)
        self._cluster: RedisCluster | None = None
        self._checked = False

    async def publish(self, channel: str, data: bytes) -> None:
        await self.publish_many([(channel, data)])

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """One commit's messages: one pipeline on a plain Redis; on a cluster, each channel's
        SPUBLISH to its own shard, all at once."""
        if not self._checked:
            if await is_cluster(self._plain):
                options = {k: v for k, v in self._options.items() if k not in NOT_FOR_CLUSTER}
                self._cluster = RedisCluster.from_url(self._url, **options)
            self._checked = True
        cluster = self._cluster
        if cluster is not None:
            await asyncio.gather(
                *(cluster.execute_command("SPUBLISH", channel, data) for channel, data in messages)
            )
            return
        async with self._plain.pipeline(transaction=False) as pipe:
            for channel, data in messages:
                pipe.publish(channel, data)
            await pipe.execute()

    async def aclose(self) -> None:
        if self._cluster is not None:
            await self._cluster.aclose()
        await self._plain.aclose()


# What publishes real-time changes: the app's Redis, or the pub/sub one when it is separate.
Publisher = Redis | ClusterAwarePublisher
