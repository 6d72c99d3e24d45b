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


async def test_days_long_past_leave_when_a_new_day_comes(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    become_provider: Any,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    service = await small_service(client, name="Oboe lesson")
    day = a_day_ahead()
    (booking, *_) = await fill_day(guest, service["id"], day)
    utc_yesterday: date = await db.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date - 1")
    # As a service never booked for a year would hold them: days that have passed everywhere.
    await db.execute(
        "UPDATE services SET open_days = ARRAY[$2::date, $3::date] WHERE id = $1::uuid",
        service["id"],
        date(2020, 1, 1),
        utc_yesterday,
    )

    await cancel(guest, booking)  # a free row for `day`: the trigger adds its day

    days = await open_days(db, service)
    assert date(2020, 1, 1) not in days
    assert utc_yesterday in days  # still today somewhere west of UTC
    assert day in days


async def test_the_filters_indexes_can_be_combined_with_the_texts(db: asyncpg.Connection) -> None:
    """PostgreSQL never ANDs two partial indexes with the same predicate (it counts their shared
    `WHERE is_active` as one condition twice), and the text's indexes are all partial: were the
    filters' indexes partial too, a search's count would test every text match row by row
    (sql/0025)."""
    predicates = await db.fetch(
        """
        SELECT c.relname, i.indpred IS NULL AS whole_table
          FROM pg_index AS i
          JOIN pg_class AS c ON c.oid = i.indexrelid
         WHERE c.relname IN ('services_location_trgm_idx', 'services_open_days_idx')
        """
    )
    assert {row["relname"]: row["whole_table"] for row in predicates} == {
        "services_location_trgm_idx": True,
        "services_open_days_idx": True,
    }
