"""The top_up_slots job keeps every active service's slots SLOT_HORIZON_DAYS days ahead."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis

from jobs.periodic import top_up_slots
from jobs.slots import top_up_all_services
from server.infra.config import Config
from server.infra.db import create_pool
from tests.conftest import BecomeProvider

CONFIG = Config(slot_horizon_days=30)
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = {day: [["09:00", "12:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def create_service(client: httpx.AsyncClient, name: str = "Consultation") -> str:
    response = await client.post(
        "/api/services",
        json={
            "name": name,
            "price_cents": 0,
            "currency": "GBP",
            "duration_minutes": 30,
            "max_appointments_per_day": 6,
            "hours": WEEKDAYS,
        },
    )
    assert response.status_code == 201, response.text
    service_id: str = response.json()["service"]["id"]
    return service_id


def london_today() -> date:
    return datetime.now(LONDON).date()


async def slot_count(db: asyncpg.Connection, service_id: str | None = None) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM appointments WHERE $1::uuid IS NULL OR service_id = $1::uuid",
        service_id,
    )
    return count


async def shorten_horizon(db: asyncpg.Connection, service_id: str, last_day: date) -> int:
    """Pretend slots were only ever generated up to `last_day`; returns how many rows went."""
    await db.execute(
        "UPDATE services SET slots_generated_until = $2 WHERE id = $1::uuid", service_id, last_day
    )
    status = await db.execute(
        "DELETE FROM appointments WHERE service_id = $1::uuid AND slot_date > $2",
        service_id,
        last_day,
    )
    return int(status.split()[-1])


async def test_running_top_up_twice_creates_nothing_the_second_time(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db_pool: Any, db: asyncpg.Connection
) -> None:
    await become_provider()
    service_id = await create_service(client)
    removed = await shorten_horizon(db, service_id, london_today() + timedelta(days=9))
    assert removed == 20 * 6
    assert await top_up_all_services(db_pool, None, CONFIG) == removed
    assert await top_up_all_services(db_pool, None, CONFIG) == 0
    until = await db.fetchval(
        "SELECT slots_generated_until FROM services WHERE id = $1::uuid", service_id
    )
    assert until == london_today() + timedelta(days=29)


async def test_a_freshly_created_service_needs_no_top_up(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db_pool: Any
) -> None:
    await become_provider()
    await create_service(client)
    assert await top_up_all_services(db_pool, None, CONFIG) == 0


async def test_as_days_pass_the_horizon_moves_forward(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db_pool: Any, db: asyncpg.Connection
) -> None:
    await become_provider()
    service_id = await create_service(client)
    three_days_on = datetime.now(UTC) + timedelta(days=3)
    assert await top_up_all_services(db_pool, None, CONFIG, now=three_days_on) == 3 * 6
    assert await top_up_all_services(db_pool, None, CONFIG, now=three_days_on) == 0
    until = await db.fetchval(
        "SELECT slots_generated_until FROM services WHERE id = $1::uuid", service_id
    )
    assert until == three_days_on.astimezone(LONDON).date() + timedelta(days=29)


async def test_two_workers_topping_up_at_once_create_each_slot_once(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db_pool: Any,
    db: asyncpg.Connection,
    database_url: str,
) -> None:
    await become_provider()
    service_ids = [await create_service(client, f"Service {n}") for n in range(6)]
    full = await slot_count(db)
    removed = 0
    for service_id in service_ids:
        removed += await shorten_horizon(db, service_id, london_today() + timedelta(days=4))
    other_pool = await create_pool(database_url, max_size=3)
    try:
        created = await asyncio.gather(
            top_up_all_services(db_pool, None, CONFIG),
            top_up_all_services(other_pool, None, CONFIG),
        )
    finally:
        await other_pool.close()
    assert sum(created) == removed
    assert await slot_count(db) == full


async def test_inactive_services_are_not_topped_up(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db_pool: Any, db: asyncpg.Connection
) -> None:
    await become_provider()
    service_id = await create_service(client)
    await shorten_horizon(db, service_id, london_today() + timedelta(days=4))
    assert (await client.delete(f"/api/services/{service_id}")).status_code == 204
    assert await top_up_all_services(db_pool, None, CONFIG) == 0


async def test_the_periodic_job_tops_up_and_announces_the_new_slots(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db_pool: Any,
    db: asyncpg.Connection,
    redis_client: Redis,
) -> None:
    await become_provider()
    service_id = await create_service(client)
    removed = await shorten_horizon(db, service_id, london_today() + timedelta(days=27))
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(f"appointly:service:{service_id}:slots")
    await pubsub.get_message(timeout=1)
    try:
        ctx = {"pool": db_pool, "app_redis": redis_client, "config": CONFIG}
        assert await top_up_slots(ctx) == removed
        async with asyncio.timeout(5):
            message = None
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        body = orjson.loads(message["data"])
        assert body["service_id"] == service_id
        assert len(body["slots"]) == removed
        assert not any(slot["removed"] for slot in body["slots"])
    finally:
        await pubsub.aclose()
