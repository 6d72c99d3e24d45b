"""Webhook deliveries in a real `appointly worker`: killed in the middle of POSTing, it loses
none; the next worker delivers every event, each with its one stable id and a valid signature."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from server.webhooks.delivery import CONCURRENCY
from tests.support.booking import book, free_slots, tomorrow
from tests.support.cli_process import APPOINTLY, REPOSITORY, appointly_env
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_webhooks import readme_verify

pytestmark = pytest.mark.slow

BOOKINGS = 12


@pytest.fixture
async def stalling_receiver() -> AsyncIterator[WebhookReceiver]:
    """A receiver that takes each request in and does not answer until told to."""
    receiver = await WebhookReceiver().start()
    receiver.answering.clear()
    yield receiver
    await receiver.stop()


async def start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as handle:
        return await asyncio.create_subprocess_exec(
            APPOINTLY, "worker", env=env, cwd=REPOSITORY, stdout=handle, stderr=handle
        )


async def wait_until_all_delivered(db: asyncpg.Connection, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while await db.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
        ):
            await asyncio.sleep(0.1)


async def test_a_worker_killed_mid_delivery_loses_no_webhook_delivery(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    database_url: str,
    redis_url: str,
    redis_client: Redis,
    stalling_receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    created = await client.post(
        "/api/providers/me/webhooks",
        json={"url": stalling_receiver.url, "events": ["booking.created"]},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["webhook"]["secret"]
    for slot in (await free_slots(guest, service["id"], tomorrow()))[:BOOKINGS]:
        assert (await book(guest, slot["id"])).status_code == 201
    expected = {str(row["id"]) for row in await db.fetch("SELECT id FROM webhook_deliveries")}
    assert len(expected) == BOOKINGS
    # The bookings' nudges are dropped: the deliveries are the record, and the worker's sweep
    # must find them on its own (a nudge is never needed, only faster).
    await redis_client.flushdb()
    env = appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        APP_ENV="test",
        SECRET_KEY="test-secret-key",  # the app's: the worker must read the secret to sign
    )

    first = await start_worker(env, tmp_path / "first.log")
    try:
        await stalling_receiver.wait_for(lambda received: len(received) >= 1, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    in_flight = len(stalling_receiver.received)
    assert 1 <= in_flight <= CONCURRENCY
    leased = await db.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND locked_until > now()"
    )
    assert leased > 0
    # Time travel: the dead worker's lease runs out.
    await db.execute(
        "UPDATE webhook_deliveries SET locked_until = now() WHERE locked_until > now()"
    )

    stalling_receiver.answering.set()
    second = await start_worker(env, tmp_path / "second.log")
    try:
        await wait_until_all_delivered(db)
    finally:
        second.send_signal(signal.SIGINT)
        await asyncio.wait_for(second.wait(), 30)

    verify = readme_verify()
    assert all(verify(secret, item.signature, item.body) for item in stalling_receiver.received)
    ids = Counter(item.json["id"] for item in stalling_receiver.received)
    assert set(ids) == expected
    # Only what was in flight at the kill came twice, with the same id.
    assert sum(ids.values()) - len(expected) <= in_flight
