"""Search totals that stay honest without counting everything, pages that agree, and the
available_on filter (services with a free, bookable slot on a day)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from server.models.service_search import TOTAL_CAP
from tests.conftest import BecomeProvider
from tests.support.booking import EVERY_DAY_9_TO_5, book, create_service, free_slots, tomorrow
from tests.support.search import search


async def insert_many_services(db: asyncpg.Connection, count: int, provider_id: str) -> None:
    """`count` active "Massage n" services in one statement, every fifth one Music."""
    await db.execute(
        """
        INSERT INTO services (provider_id, name, description, category, price_cents, currency,
                              duration_minutes, max_appointments_per_day, hours)
        SELECT $1::uuid, 'Massage ' || n, 'Relaxing massage number ' || n,
               CASE WHEN n % 5 = 0 THEN 'Music' ELSE 'Wellness' END,
               1000, 'GBP', 30, 8, '{}'::jsonb
          FROM generate_series(1, $2::int) AS n
        """,
        provider_id,
        count,
    )


@pytest.fixture
async def many_massages(become_provider: BecomeProvider, db: asyncpg.Connection) -> dict[str, Any]:
    provider = await become_provider(business_name="Big Spa")
    await insert_many_services(db, 1_200, provider["id"])
    return provider


async def test_past_the_cap_the_total_is_an_estimate(
    guest: httpx.AsyncClient, many_massages: dict[str, Any]
) -> None:
    for params in ({"q": "massage"}, {"q": "masage"}, {}, {"q": "big spa"}):
        found = await search(guest, **params)
        assert found["total"] == TOTAL_CAP, params
        assert found["total_is_estimate"] is True, params
        assert len(found["services"]) == 20


async def test_below_the_cap_the_total_is_exact(
    guest: httpx.AsyncClient, many_massages: dict[str, Any]
) -> None:
    music = await search(guest, q="massage", category="music")
    assert music["total"] == 240
    assert music["total_is_estimate"] is False
    listed = await search(guest, category="Music", limit=100, offset=200)
    assert (listed["total"], len(listed["services"])) == (240, 40)
    one = await search(guest, q="massage 1117")
    assert one["services"][0]["name"] == "Massage 1117"


async def test_pages_of_a_broad_search_neither_repeat_nor_skip(
    guest: httpx.AsyncClient, many_massages: dict[str, Any]
) -> None:
    whole = await search(guest, q="massage", limit=60)
    pages = [
        await search(guest, q="massage", limit=12, offset=offset) for offset in range(0, 60, 12)
    ]
    paged = [service["id"] for page in pages for service in page["services"]]
    assert paged == [service["id"] for service in whole["services"]]
    assert len(set(paged)) == 60


async def test_available_on_keeps_services_with_a_free_bookable_slot_that_day(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider(business_name="Harbour Physio")
    day = tomorrow()
    weekday = day.strftime("%a").lower()
    open_daily = await create_service(client, name="Sports massage")
    closed_that_day = await create_service(
        client,
        name="Hot stone massage",
        hours={name: hours for name, hours in EVERY_DAY_9_TO_5.items() if name != weekday},
    )
    one_a_day = await create_service(client, name="Massage intensive", max_appointments_per_day=1)
    await create_service(client, name="Massage by appointment", min_notice_minutes=43_200)
    [only_slot] = await free_slots(guest, one_a_day["id"], day)
    assert (await book(guest, only_slot["id"])).status_code == 201

    that_day = await search(guest, q="massage", available_on=day.isoformat())
    assert [service["id"] for service in that_day["services"]] == [open_daily["id"]]
    assert that_day["total"] == 1
    next_day = await search(guest, available_on=(day + timedelta(days=1)).isoformat())
    assert {service["id"] for service in next_day["services"]} >= {
        open_daily["id"],
        one_a_day["id"],
    }
    assert closed_that_day["id"] not in {service["id"] for service in that_day["services"]}
    yesterday = await search(guest, available_on=(day - timedelta(days=2)).isoformat())
    assert yesterday["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"available_on": "2026-02-30"},
        {"available_on": "20261201"},
        {"available_on": "tomorrow"},
        {"available_on": "2026-12-01T00:00"},
        {"near": "x" * 201},
    ],
)
async def test_a_bad_filter_is_a_422_naming_the_field(
    guest: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await guest.get("/api/services", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == set(params)


async def test_a_day_taken_by_a_busy_time_is_not_free(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db: asyncpg.Connection,
) -> None:
    provider = await become_provider(business_name="Busy Bee Clinic")
    service = await create_service(client, name="Acupuncture")
    day = tomorrow()
    whole_day = await db.fetchrow(
        "SELECT min(starts_at) AS first, max(ends_at) AS last FROM appointments"
        " WHERE service_id = $1::uuid AND slot_date = $2",
        service["id"],
        day,
    )
    assert whole_day is not None
    for params in ({"q": "acupuncture"}, {}):
        free = await search(guest, available_on=day.isoformat(), **params)
        assert [found["id"] for found in free["services"]] == [service["id"]], params
    await db.execute(
        "INSERT INTO busy_times (provider_id, source, starts_at, ends_at)"
        " VALUES ($1::uuid, 'ics:test', $2, $3)",
        provider["id"],
        whole_day["first"],
        whole_day["last"],
    )
    for params in ({"q": "acupuncture"}, {}):
        busy = await search(guest, available_on=day.isoformat(), **params)
        assert busy["total"] == 0, params
    assert (await search(guest, q="acupuncture"))["total"] == 1
