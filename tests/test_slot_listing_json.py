"""The slot list PostgreSQL writes as JSON says exactly what Slot.to_json would, in any zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import orjson
import pytest

from server.models.slots import select_slots, select_slots_json
from tests.conftest import BecomeProvider

# Half-hour and quarter-hour offsets, west and east of UTC, across their clock changes.
ZONES_AND_DAYS = [
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2026, 10, 25)),
    ("Asia/Kathmandu", date(2026, 11, 1)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("America/St_Johns", date(2026, 11, 1)),
    ("UTC", date(2026, 11, 1)),
]


async def insert_day_of_slots(
    db: asyncpg.Connection, provider_id: str, zone: str, day: date
) -> UUID:
    service_id: UUID = await db.fetchval(
        """
        INSERT INTO services (provider_id, name, price_cents, currency, duration_minutes,
                              max_appointments_per_day, hours)
        VALUES ($1, 'Clock change', 0, 'GBP', 30, 48, '{}')
        RETURNING id
        """,
        UUID(provider_id),
    )
    midnight = datetime.combine(day, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)
    for n in range(48):  # every half hour of a UTC day around local midnight
        starts_at = midnight + timedelta(minutes=30 * n)
        await db.execute(
            """
            INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
            VALUES ($1, $2, $3::timestamptz, $3 + interval '30 minutes', $4)
            """,
            service_id,
            day,
            starts_at,
            n + 1,
        )
    return service_id


@pytest.mark.parametrize(("zone", "day"), ZONES_AND_DAYS)
async def test_sql_built_slot_json_matches_the_python_shape(
    db: asyncpg.Connection, become_provider: BecomeProvider, zone: str, day: date
) -> None:
    provider = await become_provider(timezone=zone)
    service_id = await insert_day_of_slots(db, provider["id"], zone, day)
    expected: list[dict[str, Any]] = [
        slot.to_json(ZoneInfo(zone)) for slot in await select_slots(db, service_id, day, day)
    ]
    built = orjson.loads(await select_slots_json(db, service_id, day, day, zone))
    assert len(expected) == 48
    assert built == expected


async def test_no_slots_is_an_empty_list(
    db: asyncpg.Connection, become_provider: BecomeProvider
) -> None:
    provider = await become_provider()
    service_id = await insert_day_of_slots(db, provider["id"], "UTC", date(2026, 11, 1))
    assert (
        await select_slots_json(db, service_id, date(2027, 1, 1), date(2027, 1, 2), "UTC") == "[]"
    )
