"""A broad search's pages through several blocks of candidates, and filters that reject the
text's every best match (server.models.service_search, server.domain.search_pages).

Services are written straight into PostgreSQL, hundreds at a time; searches go through the API.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from server.domain.search_pages import CANDIDATE_BLOCK
from server.models import service_search
from server.models.service_search import TOTAL_CAP
from server.models.service_search_sql import READS_PER_CANDIDATE
from tests.conftest import BecomeProvider
from tests.support.booking import tomorrow
from tests.support.search import search

# More guitar lessons than a field reads for one block, so that none of its reads passes.
GUITAR_LESSONS = CANDIDATE_BLOCK * READS_PER_CANDIDATE + 100
PIANO_LESSONS = 30


async def insert_services(
    db: asyncpg.Connection, provider_id: str, count: int, name: str, location: str
) -> None:
    """`count` active services called "`name` n" at `location`, in one statement."""
    await db.execute(
        """
        INSERT INTO services (provider_id, name, description, category, location, price_cents,
                              currency, duration_minutes, max_appointments_per_day, hours)
        SELECT $1::uuid, $3 || ' ' || n, 'Lessons for every level.', 'Music', $4,
               1000, 'GBP', 30, 8, '{}'::jsonb
          FROM generate_series(1, $2::int) AS n
        """,
        provider_id,
        count,
        name,
        location,
    )


async def every_page(http: httpx.AsyncClient, size: int, through: int, **params: Any) -> list[str]:
    ids: list[str] = []
    for offset in range(0, through, size):
        page = await search(http, limit=size, offset=offset, **params)
        ids += [service["id"] for service in page["services"]]
    return ids


@pytest.fixture
async def lessons(become_provider: BecomeProvider, db: asyncpg.Connection) -> None:
    """Guitar lessons, all in Bristol and never free; fewer piano lessons, in Cardiff, each with
    a free slot tomorrow."""
    provider = await become_provider(business_name="Riverside Music")
    await insert_services(db, provider["id"], GUITAR_LESSONS, "Guitar lesson", "Bristol")
    await insert_services(db, provider["id"], PIANO_LESSONS, "Piano lesson", "Cardiff")
    await db.execute(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        SELECT s.id, $1::date, $1::date + time '12:00', $1::date + time '12:30', 1
          FROM services AS s
         WHERE s.name LIKE 'Piano lesson %'
        """,
        tomorrow(),
    )


@pytest.mark.parametrize(
    "rejecting", [("near",), ("available_on",), ("near", "available_on")], ids="+".join
)
async def test_a_filter_rejecting_the_texts_best_matches_still_finds_the_others(
    guest: httpx.AsyncClient,
    lessons: None,
    rejecting: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ranking each field's nearest candidates (not every match) is the path under test.
    monkeypatch.setattr(service_search, "RANK_EVERY_MATCH_UP_TO", 0)
    filters = {"near": "Cardiff", "available_on": tomorrow().isoformat()}
    params = {name: filters[name] for name in rejecting}
    first = await search(guest, q="guitar lesson", **params)
    assert (first["total"], first["total_is_estimate"]) == (PIANO_LESSONS, False)
    assert [service["name"][:12] for service in first["services"]] == ["Piano lesson"] * 20
    paged = await every_page(guest, 7, PIANO_LESSONS + 7, q="guitar lesson", **params)
    assert len(paged) == len(set(paged)) == PIANO_LESSONS


@pytest.fixture
async def many_massages(become_provider: BecomeProvider, db: asyncpg.Connection) -> None:
    """1,200 massages, every fifth in Leeds, all equally good matches for "massage" (so their
    order is the tie-break's, and any later block of candidates holds ones that sort first)."""
    provider = await become_provider(business_name="Big Spa")
    await insert_services(db, provider["id"], 960, "Massage", "London")
    await insert_services(db, provider["id"], 240, "Massage", "Leeds")


@pytest.mark.parametrize("filters", [{}, {"near": "Leeds"}], ids=["unfiltered", "near"])
async def test_pages_through_several_blocks_neither_repeat_nor_skip_at_any_page_size(
    guest: httpx.AsyncClient, many_massages: None, filters: dict[str, str]
) -> None:
    through = 3 * CANDIDATE_BLOCK
    by_twelve = await every_page(guest, 12, through, q="massage", **filters)
    by_twenty = await every_page(guest, 20, through, q="massage", **filters)
    assert len(by_twelve) == len(set(by_twelve)) == through
    assert by_twenty == by_twelve


async def test_a_text_search_pages_no_deeper_than_the_totals_cap(
    guest: httpx.AsyncClient, many_massages: None
) -> None:
    last = await search(guest, q="massage", limit=10, offset=TOTAL_CAP - 5)
    assert len(last["services"]) == 5
    past = await search(guest, q="massage", limit=10, offset=TOTAL_CAP + 10)
    assert past == {"services": [], "total": TOTAL_CAP, "total_is_estimate": True}
    assert len((await search(guest, limit=10, offset=TOTAL_CAP + 10))["services"]) == 10
