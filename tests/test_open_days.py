"""A service's open days (sql/0024): the days `available_on` may find it free, kept by the
slot inserts and by the worker's refresh after bookings. The search's answer never depends on
them being current: a day too many costs a probe of the slots, never a wrong answer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from jobs.context import JobContext
from jobs.open_days import refresh_recent_open_days
from tests.support.search import search
from tests.support.waitlist import a_day_ahead, cancel, fill_day, small_service


async def open_days(db: asyncpg.Connection, service: dict[str, Any]) -> list[date]:
    found: list[date] = await db.fetchval(
        "SELECT open_days FROM services WHERE id = $1::uuid", service["id"]
    )
    return found


async def free_on(http: httpx.AsyncClient, service: dict[str, Any], day: date) -> bool:
    found = await search(http, q=service["name"], available_on=day.isoformat())
    return service["id"] in {item["id"] for item in found["services"]}


async def test_generated_slots_open_their_days(
    client: httpx.AsyncClient, become_provider: Any, db: asyncpg.Connection
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    assert {day, day + timedelta(days=1)} <= set(await open_days(db, service))


async def test_a_fully_booked_day_leaves_at_the_refresh_and_a_cancellation_opens_it_again(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    become_provider: Any,
    db: asyncpg.Connection,
    job_ctx: JobContext,
) -> None:
    await become_provider()
    service = await small_service(client, name="Cello lesson")
    day, next_day = a_day_ahead(), a_day_ahead() + timedelta(days=1)
    bookings = await fill_day(guest, service["id"], day)

    # Still among the open days until the refresh: the probe says not free all the same.
    assert day in await open_days(db, service)
    assert not await free_on(guest, service, day)

    assert await refresh_recent_open_days(job_ctx) == 1
    days = await open_days(db, service)
    assert day not in days
    assert next_day in days  # a day with a free time stays
    assert not await free_on(guest, service, day)
    assert await free_on(guest, service, next_day)

    await cancel(guest, bookings[0])  # its time comes back as a new free row
    assert day in await open_days(db, service)
    assert await free_on(guest, service, day)
    assert await refresh_recent_open_days(job_ctx) == 0  # nothing more to drop
