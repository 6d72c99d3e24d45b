"""Worker nudges are coalesced per process: a burst of commits asks the worker once at once
and once more at the end of the burst's window, never once per commit
(server.infra.job_queue.nudge_job). Messages of one commit go out through one pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from uuid import uuid4

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from realtime.channels import appointments_channel, waitlist_channel
from realtime.publish import (
    appointment_event_message,
    publish_messages,
    waitlist_changed_message,
)
from server.infra.job_queue import QUEUE_NAME, nudge_job, settle_nudges


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[ArqRedis]:
    client = ArqRedis.from_url(redis_url)
    yield client
    await settle_nudges(client)
    await client.aclose()


async def queued(queue: ArqRedis) -> list[str]:
    return [job.function for job in await queue.queued_jobs(queue_name=QUEUE_NAME)]


async def test_a_lone_nudge_is_queued_before_it_returns(queue: ArqRedis) -> None:
    await nudge_job(queue, "deliver_outbox")
    assert await queued(queue) == ["deliver_outbox"]


async def test_a_burst_of_nudges_is_one_job_at_once_and_one_after_the_burst(
    queue: ArqRedis,
) -> None:
    await asyncio.gather(*(nudge_job(queue, "deliver_outbox") for _ in range(100)))
    assert await queued(queue) == ["deliver_outbox"]

    async with asyncio.timeout(5):
        await settle_nudges(queue)
    assert await queued(queue) == ["deliver_outbox", "deliver_outbox"]


async def test_each_job_is_coalesced_on_its_own(queue: ArqRedis) -> None:
    await asyncio.gather(
        *(
            nudge_job(queue, name)
            for _ in range(20)
            for name in ("deliver_outbox", "deliver_webhooks")
        )
    )
    async with asyncio.timeout(5):
        await settle_nudges(queue)
    assert sorted(await queued(queue)) == ["deliver_outbox"] * 2 + ["deliver_webhooks"] * 2


async def test_all_of_a_commits_messages_arrive_from_one_publish(redis_client: Redis) -> None:
    provider_id, service_id = uuid4(), uuid4()
    day = date(2030, 1, 2)
    subscriber = redis_client.pubsub()
    await subscriber.subscribe(appointments_channel(provider_id), waitlist_channel(service_id))
    try:
        await publish_messages(
            redis_client,
            [
                appointment_event_message(provider_id, "booked", {"id": "a"}),
                waitlist_changed_message(service_id, day),
            ],
        )
        received: list[tuple[str, bytes]] = []
        async with asyncio.timeout(5):
            while len(received) < 2:
                message = await subscriber.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    received.append((message["channel"].decode(), message["data"]))
    finally:
        await subscriber.aclose()
    assert received[0][0] == appointments_channel(provider_id)
    assert b'"event":"booked"' in received[0][1]
    assert received[1] == (waitlist_channel(service_id), b"2030-01-02")
