"""Changing a service's hours, duration or daily cap replaces only its future free slots."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis

from tests.conftest import BecomeProvider

LONDON = ZoneInfo("Europe/London")
EVERY_DAY = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def create_service(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Haircut",
        "description": "",
        "price_cents": 2500,
        "currency": "GBP",
        "duration_minutes": 60,
        "max_appointments_per_day": 8,
        "hours": EVERY_DAY,
    }
    body.update(changes)
    response = await client.post("/api/services", json=body)
    assert response.status_code == 201, response.text
    service: dict[str, Any] = response.json()["service"]
    return service


async def book_slot_at(db: asyncpg.Connection, service_id: str, local_start: datetime) -> UUID:
    """Book the free slot starting at `local_start` the way the booking feature will."""
    slot_id: UUID | None = await db.fetchval(
        """
        UPDATE appointments
           SET booked = true, status = 'PENDING', payment_status = 'pay_at_visit',
               customer_name = 'Grace', customer_email = 'grace@example.com',
               manage_key_hash = 'test-key', booked_at = now(),
               price_cents = 2500, currency = 'GBP'
         WHERE service_id = $1::uuid AND starts_at = $2 AND NOT booked
        RETURNING id
        """,
        service_id,
        local_start,
    )
    assert slot_id is not None, "no free slot at that time"
    return slot_id


async def live_rows(db: asyncpg.Connection, service_id: str) -> list[asyncpg.Record]:
    return await db.fetch(
        """
        SELECT id, slot_date, starts_at, ends_at, token, booked
          FROM appointments
         WHERE service_id = $1::uuid AND occupies_slot
         ORDER BY starts_at
        """,
        service_id,
    )


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    tomorrow = datetime.now(LONDON).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, minute, tzinfo=LONDON)


async def test_new_hours_replace_future_free_slots(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> None:
    await become_provider()
    service = await create_service(client)
    new_hours = {day: [["10:00", "12:00"]] for day in EVERY_DAY}
    response = await client.patch(f"/api/services/{service['id']}", json={"hours": new_hours})
    assert response.status_code == 200, response.text
    assert response.json()["service"]["hours"] == new_hours
    rows = await live_rows(db, service["id"])
    local_starts = {row["starts_at"].astimezone(LONDON).strftime("%H:%M") for row in rows}
    assert local_starts == {"10:00", "11:00"}
    assert len({row["slot_date"] for row in rows}) >= 29


async def test_a_booked_slot_survives_and_new_slots_avoid_its_time_and_token(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> None:
    await become_provider()
    service = await create_service(client)
    booked_id = await book_slot_at(db, service["id"], tomorrow_at(13))
    booked_before = await db.fetchrow(
        "SELECT starts_at, ends_at, token FROM appointments WHERE id = $1", booked_id
    )
    response = await client.patch(f"/api/services/{service['id']}", json={"duration_minutes": 45})
    assert response.status_code == 200, response.text
    booked_after = await db.fetchrow(
        "SELECT starts_at, ends_at, token, booked FROM appointments WHERE id = $1", booked_id
    )
    assert booked_after is not None and booked_after["booked"]
    assert dict(booked_before) == {k: booked_after[k] for k in ("starts_at", "ends_at", "token")}
    day_rows = [
        row
        for row in await live_rows(db, service["id"])
        if row["slot_date"] == tomorrow_at(0).date()
    ]
    assert len(day_rows) == 8  # the cap counts the booked slot
    tokens = [row["token"] for row in day_rows]
    assert len(set(tokens)) == len(tokens)
    for earlier, later in pairwise(day_rows):
        assert earlier["ends_at"] <= later["starts_at"]
    free = [row for row in day_rows if not row["booked"]]
    assert all(row["ends_at"] - row["starts_at"] == timedelta(minutes=45) for row in free)


async def test_past_slots_are_never_touched(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> None:
    await become_provider()
    service = await create_service(client)
    yesterday = datetime.now(LONDON) - timedelta(days=1)
    past_id = await db.fetchval(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        VALUES ($1::uuid, $2, $3::timestamptz, $3::timestamptz + interval '1 hour', 1)
        RETURNING id
        """,
        service["id"],
        yesterday.date(),
        yesterday,
    )
    await client.patch(f"/api/services/{service['id']}", json={"max_appointments_per_day": 2})
    assert await db.fetchval("SELECT count(*) FROM appointments WHERE id = $1", past_id) == 1
    rows = await live_rows(db, service["id"])
    per_day: dict[Any, int] = {}
    for row in rows:
        per_day[row["slot_date"]] = per_day.get(row["slot_date"], 0) + 1
    assert max(per_day.values()) == 2


async def test_changing_other_fields_keeps_the_slots(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> None:
    await become_provider()
    service = await create_service(client)
    before = [row["id"] for row in await live_rows(db, service["id"])]
    response = await client.patch(
        f"/api/services/{service['id']}",
        json={"name": "Long haircut", "price_cents": 3000, "duration_minutes": 60},
    )
    assert response.status_code == 200
    after = [row["id"] for row in await live_rows(db, service["id"])]
    assert after == before


async def test_regenerating_and_deleting_announce_the_change_after_commit(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db: asyncpg.Connection,
    redis_client: Redis,
) -> None:
    await become_provider()
    service = await create_service(client)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(f"appointly:service:{service['id']}:slots")
    await pubsub.get_message(timeout=1)
    try:
        for change in (
            client.patch(f"/api/services/{service['id']}", json={"duration_minutes": 30}),
            client.delete(f"/api/services/{service['id']}"),
        ):
            assert (await change).status_code in (200, 204)
            async with asyncio.timeout(5):
                message = None
                while message is None:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            assert orjson.loads(message["data"])["service_id"] == service["id"]
    finally:
        await pubsub.aclose()
