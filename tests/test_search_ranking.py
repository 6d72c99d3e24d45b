"""Search ranking on a hand-built catalogue: which service must come first for which query.

Name matches come before description matches, the provider's name counts, exact words come
before fuzzy ones, typos find what the right word finds, and only active services are found.
The catalogue is written straight into PostgreSQL (the words table of sql/0021 is filled by its
triggers, as it is when services are created through the API).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from server.models import service_search
from tests.support.search import search

# (provider, service name, category, description, location)
CATALOGUE = [
    ("Harbour Physio", "Sports massage", "Wellness", "Deep tissue work for runners.", "Bristol"),
    ("Harbour Physio", "Knee rehabilitation", "Health", "Exercises after an injury.", "Bristol"),
    ("Oak Studio", "Guitar lesson", "Music", "Acoustic and electric, all levels.", "London"),
    (
        "Oak Studio",
        "Music theory",
        "Music",
        "Read notes before your first guitar lesson.",
        "London",
    ),
    ("Lotus Yoga", "Yoga class", "Fitness", "Gentle stretching.", "Leeds"),
    ("Lotus Yoga", "Yogi tea ceremony", "Wellness", "Calm and warm.", "Leeds"),
    ("Bright Smile", "Check-up", "Dental", "A dentist looks after your teeth.", "Manchester"),
    ("Kensington Barbers", "Beard trim", "Hair", "Hot towel finish.", "London"),
    ("Cutting Room", "Haircut", "Hair", "Wash, cut and style.", "Leeds"),
]
INACTIVE = ("Harbour Physio", "Hydrotherapy deluxe", "Wellness", "Warm pool.", "Bristol")


async def insert_catalogue(
    db: asyncpg.Connection, entries: list[tuple[str, str, str, str, str]], *, active: bool = True
) -> None:
    """Providers (with their users) and services, in the order given (earlier = older)."""
    await db.execute(
        """
        WITH entry AS (
            SELECT provider, name, category, description, location, position
              FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                   WITH ORDINALITY AS e (provider, name, category, description, location,
                                         position)
        ), new_users AS (
            INSERT INTO users (id, email, name, password_hash)
            SELECT DISTINCT md5('user ' || provider)::uuid,
                   md5(provider) || '@example.com', provider, 'x'
              FROM entry
            ON CONFLICT DO NOTHING
        ), new_providers AS (
            INSERT INTO providers (id, user_id, business_name, slug, timezone)
            SELECT DISTINCT md5('provider ' || provider)::uuid, md5('user ' || provider)::uuid,
                   provider, md5(provider), 'Europe/London'
              FROM entry
            ON CONFLICT DO NOTHING
        )
        INSERT INTO services (provider_id, name, description, category, location, price_cents,
                              currency, duration_minutes, max_appointments_per_day, hours,
                              is_active, created_at)
        SELECT md5('provider ' || provider)::uuid, name, description, category, location, 2500,
               'GBP', 30, 8, '{}'::jsonb, $6, now() - make_interval(mins => 1000 - position::int)
          FROM entry
        """,
        *(list(column) for column in zip(*entries, strict=True)),
        active,
    )


@pytest.fixture(params=["every match ranked", "nearest candidates ranked"])
async def catalogue(
    request: pytest.FixtureRequest, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalogue, searched both ways the search can go: with few matches every one is
    ranked; with many only each field's nearest candidates are (forced here by lowering the
    threshold, as the served app runs in this process)."""
    if request.param == "nearest candidates ranked":
        monkeypatch.setattr(service_search, "RANK_EVERY_MATCH_UP_TO", 0)
    await insert_catalogue(db, CATALOGUE)
    await insert_catalogue(db, [INACTIVE], active=False)


def names(found: dict[str, Any]) -> list[str]:
    return [service["name"] for service in found["services"]]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("massage", "Sports massage"),
        ("massge", "Sports massage"),  # a typo
        ("sports masage", "Sports massage"),  # a typo in the second word
        ("guitar", "Guitar lesson"),  # in the name beats in the description
        ("gitar lesson", "Guitar lesson"),
        ("yoga", "Yoga class"),  # the exact word beats "Yogi"
        ("dental", "Check-up"),  # the category counts
        ("dentist", "Check-up"),  # so does the description
        ("teeth dentist", "Check-up"),  # its words in any order
        ("kensington", "Beard trim"),  # the provider's name counts
        ("kensingtn", "Beard trim"),
        ("haircut", "Haircut"),
        ("rehab", "Knee rehabilitation"),  # the start of a word
    ],
)
async def test_the_best_match_comes_first(
    guest: httpx.AsyncClient, catalogue: None, query: str, first: str
) -> None:
    found = await search(guest, q=query)
    assert names(found)[:1] == [first], (query, names(found))
    assert found["total_is_estimate"] is False


async def test_a_name_match_comes_before_a_description_match(
    guest: httpx.AsyncClient, catalogue: None
) -> None:
    found = await search(guest, q="guitar lesson")
    assert names(found) == ["Guitar lesson", "Music theory"]
    assert found["total"] == 2


async def test_the_exact_word_comes_before_a_fuzzy_one(
    guest: httpx.AsyncClient, catalogue: None
) -> None:
    found = names(await search(guest, q="yoga"))
    assert found.index("Yoga class") < found.index("Yogi tea ceremony")


async def test_the_providers_name_brings_all_of_its_services_typos_too(
    guest: httpx.AsyncClient, catalogue: None
) -> None:
    for query in ("harbour", "harbor", "harbour physio"):
        found = await search(guest, q=query)
        assert sorted(names(found)) == ["Knee rehabilitation", "Sports massage"], query
        assert found["total"] == 2


async def test_a_deleted_service_is_never_found(guest: httpx.AsyncClient, catalogue: None) -> None:
    assert (await search(guest, q="hydrotherapy deluxe"))["total"] == 0
    assert "Hydrotherapy deluxe" not in names(await search(guest, q="harbour"))
    assert "Hydrotherapy deluxe" not in names(await search(guest, limit=100))


async def test_nothing_like_the_text_finds_nothing(
    guest: httpx.AsyncClient, catalogue: None
) -> None:
    for query in ("zzqx", "qwertyuiop asdfgh", "%", "_", "\\"):
        found = await search(guest, q=query)
        assert found == {"services": [], "total": 0, "total_is_estimate": False}, query


async def test_a_service_renamed_is_found_by_its_new_words_typos_too(
    guest: httpx.AsyncClient, catalogue: None, db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE services SET name = 'Reflexology' WHERE name = 'Knee rehabilitation'")
    assert names(await search(guest, q="reflexolgy"))[:1] == ["Reflexology"]


async def test_the_category_filter_keeps_only_that_category(
    guest: httpx.AsyncClient, catalogue: None
) -> None:
    assert names(await search(guest, q="massage", category="wellness")) == ["Sports massage"]
    assert (await search(guest, q="massage", category="Fitness"))["total"] == 0
    assert sorted(names(await search(guest, category="hair"))) == ["Beard trim", "Haircut"]


async def test_near_keeps_the_services_given_near_that_place(
    guest: httpx.AsyncClient, catalogue: None
) -> None:
    in_london = await search(guest, near="London")
    assert sorted(names(in_london)) == ["Beard trim", "Guitar lesson", "Music theory"]
    assert in_london["total"] == 3
    assert sorted(names(await search(guest, near="londn"))) == sorted(names(in_london))
    assert names(await search(guest, q="hair", near="Leeds")) == ["Haircut"]
    assert (await search(guest, q="haircut", near="Manchester"))["total"] == 0
