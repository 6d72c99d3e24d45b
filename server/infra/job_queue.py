"""Handing slow work to the arq worker after a commit.

Enqueueing is a nudge, not the record: every job reads its work from the database (outbox
rows, refund requests), and a cron sweep picks up anything a lost nudge left behind. So a
Redis hiccup here is logged and never fails the request that already committed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.infra.config import Config
from server.infra.redis_clients import redis_options

QUEUE_NAME = "appointly:queue"
# However slow Redis is, a nudge after a commit costs the request at most this long.
NUDGE_TIMEOUT = 2.0

log = logging.getLogger(__name__)


def job_queue(redis_url: str, config: Config) -> ArqRedis:
    """An arq client on the app's Redis, for enqueueing only, with the app's Redis timeouts."""
    queue: ArqRedis = ArqRedis.from_url(redis_url, **redis_options(redis_url, config))
    return queue


async def enqueue_job(queue: Redis | None, name: str) -> None:
    """Ask the worker to run job `name` soon."""
    if queue is None or not isinstance(queue, ArqRedis):
        log.info("no job queue: %s left for the worker's next sweep", name)
        return
    try:
        async with asyncio.timeout(NUDGE_TIMEOUT):
            await queue.enqueue_job(name, _queue_name=QUEUE_NAME)
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("could not enqueue %s (%s); the worker's sweep will pick it up", name, error)


def retry_delay(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """How long a job's work waits after its `attempts`-th failure: `first`, doubling each
    attempt, at most `longest`."""
    doubling: int = 1 << min(max(attempts - 1, 0), 20)
    return min(first * doubling, longest)
