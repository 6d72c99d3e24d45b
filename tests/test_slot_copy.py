"""Many slots are written with one COPY (server.models.slots.insert_slots): the same rows,
ids and `busy` marks as the one-statement INSERT gives, and when a slot collides with a live
row after all, nothing of the COPY stays and the INSERT skips just that one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest

from server.domain.slots import GeneratedSlot
from server.models.slots import COPY_FROM, insert_slots

FIRST_DAY = date(2031, 3, 3)


async def a_service(db: asyncpg.Connection) -> tuple[UUID, UUID]:
    user_id, provider_id, service_id = uuid4(), uuid4(), uuid4()
    await db.execute(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'P', 'x')",
        user_id,
        f"p-{user_id}@example.com",
    )
    await db.execute(
        "INSERT INTO providers (id, user_id, business_name, slug, timezone)"
        " VALUES ($1, $2, 'P', $3, 'UTC')",
        provider_id,
        user_id,
        f"p-{provider_id}",
    )
    await db.execute(
        "INSERT INTO services (id, provider_id, name, price_cents, currency, duration_minutes,"
        " max_appointments_per_day, hours) VALUES ($1, $2, 'S', 0, 'GBP', 30, 16, '{}')",
        service_id,
        provider_id,
    )
    return provider_id, service_id


def generated(count: int) -> list[GeneratedSlot]:
    """`count` half-hour slots, 16 a day from 09:00 UTC."""
    slots = []
    for n in range(count):
        day = FIRST_DAY + timedelta(days=n // 16)
        starts = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(
            minutes=30 * (n % 16)
        )
        slots.append(GeneratedSlot(day, starts, starts + timedelta(minutes=30), n % 16 + 1))
    return slots


@pytest.mark.parametrize("count", [COPY_FROM - 1, COPY_FROM, 5 * COPY_FROM])
async def test_inserted_slots_are_the_rows_in_the_table(db: asyncpg.Connection, count: int) -> None:
    _, service_id = await a_service(db)
    async with db.transaction():
        inserted = await insert_slots(db, service_id, generated(count))
    rows = await db.fetch(
        "SELECT id, starts_at, token, booked FROM appointments WHERE service_id = $1", service_id
    )
    assert len(inserted) == count
    assert {(row["id"], row["starts_at"], row["token"]) for row in rows} == {
        (slot.id, slot.starts_at, slot.token) for slot in inserted
    }
    assert not any(row["booked"] for row in rows)
    assert not any(slot.busy for slot in inserted)


async def test_copied_slots_under_a_busy_time_come_back_busy(db: asyncpg.Connection) -> None:
    provider_id, service_id = await a_service(db)
    slots = generated(2 * COPY_FROM)
    busy_from, busy_to = slots[20].starts_at + timedelta(minutes=10), slots[22].starts_at
    await db.execute(
        "INSERT INTO busy_times (provider_id, source, starts_at, ends_at)"
        " VALUES ($1, 'feed', $2, $3)",
        provider_id,
        busy_from,
        busy_to,
    )
    async with db.transaction():
        inserted = await insert_slots(db, service_id, slots)
    assert [slot.starts_at for slot in inserted if slot.busy] == [
        slots[20].starts_at,
        slots[21].starts_at,
    ]


async def test_a_collision_falls_back_to_skipping_just_that_slot(db: asyncpg.Connection) -> None:
    _, service_id = await a_service(db)
    slots = generated(2 * COPY_FROM)
    async with db.transaction():
        await insert_slots(db, service_id, slots[5:6])  # already there, live
    async with db.transaction():
        inserted = await insert_slots(db, service_id, slots)
    assert len(inserted) == len(slots) - 1
    assert slots[5].starts_at not in {slot.starts_at for slot in inserted}
    total = await db.fetchval("SELECT count(*) FROM appointments WHERE service_id = $1", service_id)
    assert total == len(slots)
