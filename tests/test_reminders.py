"""Reminders: due at start minus each REMINDER_OFFSETS offset, queued once at the first run at
or after that moment for the customer and the provider of each CONFIRMED appointment."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from jobs.periodic import PERIODIC_JOBS
from server.infra.db import create_pool
from server.notifications.delivery import deliver_due
from server.notifications.reminders import queue_due_reminders
from tests.conftest import LiveApp, Mailbox, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow

CUSTOMER = "grace@example.com"
PROVIDER = "ada@example.com"


async def confirmed_booking(
    live_app: LiveApp, db: asyncpg.Connection, *, booked_before_start: timedelta
) -> tuple[Any, UUID, datetime]:
    """A confirmed booking for tomorrow, booked `booked_before_start` ahead of its start, with
    the messages about booking and confirming it already out of the way. The provider's client
    stays signed in for later moves."""
    http = live_app.client()
    await make_provider(http)
    service = await create_service(http)
    slot = (await free_slots(http, service["id"], tomorrow()))[0]
    async with live_app.client() as guest:
        response = await book(guest, slot["id"], customer_phone="+447700900123")
    assert response.status_code == 201, response.text
    appointment_id = UUID(response.json()["appointment"]["id"])
    assert (await http.post(f"/api/appointments/{appointment_id}/confirm")).status_code == 200
    starts_at: datetime = await db.fetchval(
        "SELECT starts_at FROM appointments WHERE id = $1", appointment_id
    )
    await db.execute(
        "UPDATE appointments SET booked_at = $2 WHERE id = $1",
        appointment_id,
        starts_at - booked_before_start,
    )
    await db.execute("DELETE FROM outbox")
    return http, appointment_id, starts_at


async def reminder_keys(db: asyncpg.Connection) -> list[str]:
    rows = await db.fetch("SELECT dedupe_key FROM outbox ORDER BY dedupe_key")
    return [
        row["dedupe_key"].rsplit(":", 2)[1] + ":" + row["dedupe_key"].rsplit(":", 1)[1]
        for row in rows
    ]


@pytest.fixture
async def three_days_ahead(live_app: LiveApp, db: asyncpg.Connection) -> Any:
    http, appointment_id, starts_at = await confirmed_booking(
        live_app, db, booked_before_start=timedelta(days=3)
    )
    yield http, appointment_id, starts_at
    await http.aclose()


async def test_each_reminder_reaches_customer_and_provider_once_at_the_first_run_after_it_is_due(
    three_days_ahead: Any, live_app: LiveApp, db_pool: Any, db: asyncpg.Connection, mailbox: Mailbox
) -> None:
    _, _, starts = three_days_ahead
    config = live_app.config
    day_before, hour_before = starts - timedelta(days=1), starts - timedelta(hours=1)

    assert await queue_due_reminders(db_pool, config, now=day_before - timedelta(minutes=1)) == 0
    assert await queue_due_reminders(db_pool, config, now=day_before + timedelta(minutes=3)) == 2
    assert await queue_due_reminders(db_pool, config, now=day_before + timedelta(minutes=4)) == 0
    assert await queue_due_reminders(db_pool, config, now=hour_before) == 2
    assert await queue_due_reminders(db_pool, config, now=starts - timedelta(minutes=1)) == 0
    assert await reminder_keys(db) == [
        "1440:customer",
        "1440:provider",
        "60:customer",
        "60:provider",
    ]

    assert await deliver_due(db_pool, config, now=hour_before) == 4
    subjects = sorted((m["To"], str(m["Subject"]).strip()) for m in mailbox.messages)
    assert [to for to, _ in subjects] == [PROVIDER, PROVIDER, CUSTOMER, CUSTOMER]
    assert any("in 1 day" in s for to, s in subjects if to == CUSTOMER)
    assert any("in 1 hour" in s for to, s in subjects if to == PROVIDER)


async def test_two_runs_at_once_queue_each_reminder_once(
    three_days_ahead: Any, live_app: LiveApp, database_url: str, db: asyncpg.Connection
) -> None:
    _, _, starts = three_days_ahead
    pools = [await create_pool(database_url, max_size=2) for _ in range(2)]
    try:
        queued = await asyncio.gather(
            *(
                queue_due_reminders(pool, live_app.config, now=starts - timedelta(minutes=30))
                for pool in pools
            )
        )
    finally:
        for pool in pools:
            await pool.close()
    assert sum(queued) == 4  # both offsets are due by now, each once per recipient
    assert await db.fetchval("SELECT count(*) FROM outbox") == 4


async def test_a_reminder_already_due_when_the_appointment_was_booked_is_skipped(
    live_app: LiveApp, db_pool: Any, db: asyncpg.Connection
) -> None:
    http, _, starts = await confirmed_booking(live_app, db, booked_before_start=timedelta(hours=3))
    await http.aclose()
    assert await queue_due_reminders(db_pool, live_app.config, now=starts - timedelta(hours=2)) == 0
    assert (
        await queue_due_reminders(db_pool, live_app.config, now=starts - timedelta(minutes=5)) == 2
    )
    assert await reminder_keys(db) == ["60:customer", "60:provider"]


async def test_an_appointment_cancelled_after_its_reminder_was_queued_gets_no_reminder(
    three_days_ahead: Any, live_app: LiveApp, db_pool: Any, db: asyncpg.Connection, mailbox: Mailbox
) -> None:
    http, appointment_id, starts = three_days_ahead
    now = starts - timedelta(days=1)
    assert await queue_due_reminders(db_pool, live_app.config, now=now) == 2

    assert (await http.post(f"/api/appointments/{appointment_id}/cancel")).status_code == 200
    await deliver_due(db_pool, live_app.config)

    assert [str(m["Subject"]).strip()[:10] for m in mailbox.messages] == ["Cancelled:"]
    statuses = await db.fetch("SELECT kind, status FROM outbox ORDER BY kind")
    assert [tuple(row) for row in statuses] == [
        ("booking_cancelled", "sent"),
        ("reminder_customer", "skipped"),
        ("reminder_provider", "skipped"),
    ]
    assert await queue_due_reminders(db_pool, live_app.config, now=starts - timedelta(hours=1)) == 0


async def test_the_send_reminders_job_queues_and_delivers_by_the_clock(
    three_days_ahead: Any, live_app: LiveApp, db_pool: Any, mailbox: Mailbox
) -> None:
    # A two-day offset is due now for tomorrow's appointment.
    ctx = {"pool": db_pool, "config": live_app.config.with_changes(reminder_offsets=(2880,))}
    assert await PERIODIC_JOBS["send_reminders"](ctx) == 2
    assert sorted(m["To"] for m in mailbox.messages) == [PROVIDER, CUSTOMER]
    assert await PERIODIC_JOBS["send_reminders"](ctx) == 0


async def test_a_moved_booking_is_reminded_of_its_new_time_and_never_of_the_old_one(
    three_days_ahead: Any, live_app: LiveApp, db_pool: Any, db: asyncpg.Connection
) -> None:
    http, appointment_id, starts = three_days_ahead
    config = live_app.config
    assert await queue_due_reminders(db_pool, config, now=starts - timedelta(days=1)) == 2

    service_id = await db.fetchval(
        "SELECT service_id FROM appointments WHERE id = $1", appointment_id
    )
    later = (await free_slots(http, str(service_id), tomorrow() + timedelta(days=1)))[-1]
    moved = await http.post(
        f"/api/appointments/{appointment_id}/reschedule", json={"slot_id": later["id"]}
    )
    assert moved.status_code == 200, moved.text
    new_start = datetime.fromisoformat(moved.json()["appointment"]["start_time"])

    # The day-before reminder of the new time is due again, under a key naming that time.
    assert await queue_due_reminders(db_pool, config, now=new_start - timedelta(days=1)) == 2
    await deliver_due(db_pool, config, now=new_start - timedelta(days=1))
    reminders = await db.fetch(
        """
        SELECT status, dedupe_key
          FROM outbox
         WHERE kind = 'reminder_customer'
         ORDER BY created_at
        """
    )
    old_key, new_key = (f":{int(moment.timestamp())}:1440:" for moment in (starts, new_start))
    assert [(row["status"], row["dedupe_key"]) for row in reminders] == [
        ("skipped", f"reminder:{appointment_id}{old_key}customer"),
        ("sent", f"reminder:{appointment_id}{new_key}customer"),
    ]
