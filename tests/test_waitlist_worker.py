"""The expire_waitlist_offers job in a real `appointly worker`: killed in the middle of passing
hundreds of run-out offers on, it loses none and doubles none; `appointly run-job` finishes."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider
from tests.support.booking import create_service
from tests.support.cli_process import APPOINTLY, REPOSITORY, appointly_env, run_appointly
from tests.support.waitlist import a_day_ahead

pytestmark = pytest.mark.slow

DAYS = 10
# 09:00-17:00 in 10-minute slots: 48 a day, 480 offers in all.
TEN_MINUTE_SLOTS = {"duration_minutes": 10, "max_appointments_per_day": 48}


async def offer_every_slot_and_line_up_a_second(
    db: asyncpg.Connection, service_id: str, days: int
) -> int:
    """Every free slot of the days held for a "first" entry whose offer has run out, and a
    "second" entry waiting behind each; how many offers."""
    first_day = a_day_ahead()
    last_day = first_day + timedelta(days=days - 1)
    async with db.transaction():
        offers: int = await db.fetchval(
            """
            WITH free AS (
                SELECT id, service_id, slot_date,
                       row_number() OVER (ORDER BY starts_at) AS n
                  FROM appointments
                 WHERE service_id = $1::uuid AND NOT booked AND slot_date BETWEEN $2 AND $3
            ), firsts AS (
                INSERT INTO waitlist_entries (service_id, waitlist_date, customer_name,
                                              customer_email, manage_key_hash, status)
                SELECT service_id, slot_date, 'First ' || n, 'first' || n || '@example.com',
                       repeat('a', 64), 'offered'
                  FROM free
                RETURNING id, customer_email
            ), offers AS (
                INSERT INTO waitlist_offers (slot_id, entry_id, offered_at, expires_at)
                SELECT free.id, firsts.id, now() - interval '1 hour', now() - interval '1 minute'
                  FROM free
                  JOIN firsts ON firsts.customer_email = 'first' || free.n || '@example.com'
                RETURNING 1
            )
            SELECT count(*) FROM offers
            """,
            service_id,
            first_day,
            last_day,
        )
        await db.execute(
            """
            INSERT INTO waitlist_entries (service_id, waitlist_date, customer_name,
                                          customer_email, manage_key_hash)
            SELECT service_id, waitlist_date, 'Second', replace(customer_email, 'first', 'second'),
                   repeat('b', 64)
              FROM waitlist_entries
             WHERE customer_email LIKE 'first%'
             ORDER BY line_number
            """
        )
    return offers


async def count(db: asyncpg.Connection, sql: str) -> int:
    found: int = await db.fetchval(sql)
    return found


async def assert_nothing_lost_or_doubled(db: asyncpg.Connection, offers: int) -> None:
    # Every slot still held by exactly one entry (a first or a second), never freed or lost.
    assert await count(db, "SELECT count(*) FROM waitlist_offers") == offers
    assert (
        await count(
            db,
            """
        SELECT count(*) FROM waitlist_offers AS o
          JOIN waitlist_entries AS e ON e.id = o.entry_id
         WHERE e.status = 'offered'
        """,
        )
        == offers
    )
    # A first either still holds its offer or has expired; a second holds one or still waits.
    assert (
        await count(
            db,
            """
        SELECT count(*) FROM waitlist_entries AS e
         WHERE (e.status = 'offered')
            <> EXISTS (SELECT 1 FROM waitlist_offers AS o WHERE o.entry_id = e.id)
        """,
        )
        == 0
    )
    passed = await count(
        db,
        """
        SELECT count(*) FROM waitlist_entries
         WHERE customer_email LIKE 'second%' AND status = 'offered'
        """,
    )
    expired = await count(db, "SELECT count(*) FROM waitlist_entries WHERE status = 'expired'")
    assert passed == expired
    # One e-mail per offer passed on, never two.
    assert await count(db, "SELECT count(*) FROM outbox WHERE kind = 'waitlist_offer'") == passed


async def test_a_worker_killed_mid_expiry_loses_no_offer_and_doubles_none(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db: asyncpg.Connection,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    await become_provider()
    service = await create_service(client, **TEN_MINUTE_SLOTS)
    offers = await offer_every_slot_and_line_up_a_second(db, service["id"], DAYS)
    assert offers == DAYS * 48
    env = appointly_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="test", SECRET_KEY="test-secret"
    )

    log = tmp_path / "worker.log"
    with log.open("wb") as handle:
        worker = await asyncio.create_subprocess_exec(
            APPOINTLY, "worker", env=env, cwd=REPOSITORY, stdout=handle, stderr=handle
        )
    try:
        async with asyncio.timeout(60):
            while (
                await count(db, "SELECT count(*) FROM waitlist_entries WHERE status = 'expired'")
                < 10
            ):
                assert worker.returncode is None, log.read_text()
                await asyncio.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    expired = await count(db, "SELECT count(*) FROM waitlist_entries WHERE status = 'expired'")
    assert expired < offers, "the worker finished before it could be killed"
    await assert_nothing_lost_or_doubled(db, offers)

    finished = await run_appointly("run-job", "expire_waitlist_offers", env=env)
    assert finished.status == 0, finished.stderr
    assert f"expire_waitlist_offers: {offers - expired}" in finished.stdout
    await assert_nothing_lost_or_doubled(db, offers)
    assert (
        await count(db, "SELECT count(*) FROM waitlist_entries WHERE status = 'expired'") == offers
    )
