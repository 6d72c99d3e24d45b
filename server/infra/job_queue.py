"""Handing slow work to the arq worker after a commit.

Enqueueing is a nudge, not the record: every job reads its work from the database (outbox
rows, refund requests), and a cron sweep picks up anything a lost nudge left behind. So a
Redis hiccup here is logged and never fails the request that already committed.

Since a job does all the work that is due, one run serves any number of commits: `nudge_job`
coalesces. The first nudge of a job in a quiet moment is enqueued at once (and awaited, so a
caller that nudged finds the job queued); nudges within NUDGE_INTERVAL after it become one
more enqueue at the end of that interval. A process booking 500 times a second enqueues each
job about 1 / NUDGE_INTERVAL times a second, and no e-mail waits longer than that for it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from datetime import timedelta

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.infra.config import Config
from server.infra.redis_clients import redis_options

QUEUE_NAME = "appointly:queue"
# However slow Redis is, a nudge after a commit costs the request at most this long.
NUDGE_TIMEOUT = 2.0
# Nudges of one job from one process closer together than this are sent as one.
NUDGE_INTERVAL = 0.05

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


@dataclass
class _Nudges:
    """One job queue's coalescing state in this process."""

    # Per job name: until when (event-loop time) a nudge joins the one at the window's end.
    window_ends: dict[str, float] = field(default_factory=dict)
    # Trailing enqueues waiting for their window's end, by job name.
    trailing: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    # Every trailing enqueue not yet finished (waiting, or on its way to Redis).
    unfinished: set[asyncio.Task[None]] = field(default_factory=set)


_NUDGES: weakref.WeakKeyDictionary[Redis, _Nudges] = weakref.WeakKeyDictionary()


async def nudge_job(queue: Redis | None, name: str) -> None:
    """Ask the worker to run job `name` soon, coalescing with this process's other nudges of
    it: at once if none was sent in the last NUDGE_INTERVAL, else once at that window's end."""
    if queue is None or not isinstance(queue, ArqRedis):
        await enqueue_job(queue, name)
        return
    nudges = _NUDGES.setdefault(queue, _Nudges())
    now = asyncio.get_running_loop().time()
    window_end = nudges.window_ends.get(name, 0.0)
    if now >= window_end and name not in nudges.trailing:
        nudges.window_ends[name] = now + NUDGE_INTERVAL
        await enqueue_job(queue, name)
    elif name not in nudges.trailing:
        task = asyncio.create_task(_trailing_nudge(queue, nudges, name))
        nudges.trailing[name] = task
        nudges.unfinished.add(task)
        task.add_done_callback(nudges.unfinished.discard)


async def _trailing_nudge(queue: ArqRedis, nudges: _Nudges, name: str) -> None:
    this = asyncio.current_task()
    loop = asyncio.get_running_loop()
    try:
        delay = nudges.window_ends.get(name, 0.0) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        nudges.window_ends[name] = loop.time() + NUDGE_INTERVAL
    finally:
        # Leave the trailing slot before sending: a nudge that comes while this one is on
        # its way must be sent too (its commit may be after the job read the database).
        if nudges.trailing.get(name) is this:
            del nudges.trailing[name]
    try:
        await enqueue_job(queue, name)
    except Exception:  # nobody awaits this task: a lost nudge is the sweep's to pick up
        log.warning("could not enqueue %s; the worker's sweep will pick it up", name, exc_info=True)


async def settle_nudges(queue: Redis | None) -> None:
    """Wait until every coalesced nudge of `queue` waiting for its window has been sent."""
    nudges = _NUDGES.get(queue) if queue is not None else None
    while nudges is not None and nudges.unfinished:
        await asyncio.gather(*nudges.unfinished, return_exceptions=True)


def retry_delay(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """How long a job's work waits after its `attempts`-th failure: `first`, doubling each
    attempt, at most `longest`."""
    doubling: int = 1 << min(max(attempts - 1, 0), 20)
    return min(first * doubling, longest)
