"""Handing slow work to the arq worker after a commit.

Enqueueing is a nudge, not the record: every job reads its work from the database (outbox
rows, refund requests), and a cron sweep picks up anything a lost nudge left behind. So a
Redis hiccup here is logged and never fails the request that already committed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

QUEUE_NAME = "appointly:queue"

log = logging.getLogger(__name__)


def job_queue(redis_url: str) -> ArqRedis:
    """An arq client on the app's Redis, for enqueueing only."""
    queue: ArqRedis = ArqRedis.from_url(redis_url)
    return queue


async def enqueue_job(queue: Redis | None, name: str) -> None:
    """Ask the worker to run job `name` soon."""
    if queue is None or not isinstance(queue, ArqRedis):
        log.info("no job queue: %s left for the worker's next sweep", name)
        return
    try:
        await queue.enqueue_job(name, _queue_name=QUEUE_NAME)
    except (RedisError, OSError) as error:
        log.warning("could not enqueue %s (%s); the worker's sweep will pick it up", name, error)


def retry_delay(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """How long a job's work waits after its `attempts`-th failure: `first`, doubling each
    attempt, at most `longest`."""
    doubling: int = 1 << min(max(attempts - 1, 0), 20)
    return min(first * doubling, longest)
