"""Slots: the rows of `appointments`, free (booked = false) or booked, seen as bookable times."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.slots import ExistingSlot, GeneratedSlot


@dataclass(frozen=True)
class Slot:
    id: UUID
    service_id: UUID
    slot_date: date
    starts_at: datetime
    ends_at: datetime
    token: int
    booked: bool

    def to_json(self, zone: ZoneInfo) -> dict[str, Any]:
        """Times carry the provider's UTC offset on that day, e.g. 2026-11-24T09:30:00+00:00."""
        return {
            "id": str(self.id),
            "service_id": str(self.service_id),
            "slot_date": self.slot_date.isoformat(),
            "start_time": self.starts_at.astimezone(zone).isoformat(),
            "end_time": self.ends_at.astimezone(zone).isoformat(),
            "token": self.token,
            "available": not self.booked,
        }


SLOT_COLUMNS = "id, service_id, slot_date, starts_at, ends_at, token, booked"


async def insert_slots(
    conn: asyncpg.Connection, service_id: UUID, slots: Sequence[GeneratedSlot]
) -> list[Slot]:
    """Insert free slots in one statement; rows that would collide with a live row are skipped.

    Returns the rows actually inserted, so running it twice inserts nothing new.
    """
    if not slots:
        return []
    rows = await conn.fetch(
        f"""
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        SELECT $1, slot_date, starts_at, ends_at, token
          FROM unnest($2::date[], $3::timestamptz[], $4::timestamptz[], $5::int[])
            AS generated (slot_date, starts_at, ends_at, token)
        ON CONFLICT DO NOTHING
        RETURNING {SLOT_COLUMNS}
        """,
        service_id,
        [slot.slot_date for slot in slots],
        [slot.starts_at for slot in slots],
        [slot.ends_at for slot in slots],
        [slot.token for slot in slots],
    )
    return [Slot(**dict(row)) for row in rows]


async def delete_future_free_slots(
    conn: asyncpg.Connection, service_id: UUID, now: datetime
) -> list[Slot]:
    """Remove the service's unbooked slots that have not started yet; booked rows stay."""
    rows = await conn.fetch(
        f"""
        DELETE FROM appointments
         WHERE service_id = $1
           AND NOT booked
           AND starts_at > $2
        RETURNING {SLOT_COLUMNS}
        """,
        service_id,
        now,
    )
    return [Slot(**dict(row)) for row in rows]


async def select_live_slots_by_day(
    conn: asyncpg.Connection, service_id: UUID, first_day: date, last_day: date
) -> dict[date, list[ExistingSlot]]:
    """The live rows (free or booked, not cancelled) of each day in the range."""
    rows = await conn.fetch(
        """
        SELECT slot_date, starts_at, ends_at, token
          FROM appointments
         WHERE service_id = $1
           AND occupies_slot
           AND slot_date BETWEEN $2 AND $3
        """,
        service_id,
        first_day,
        last_day,
    )
    by_day: dict[date, list[ExistingSlot]] = defaultdict(list)
    for row in rows:
        by_day[row["slot_date"]].append(
            ExistingSlot(starts_at=row["starts_at"], ends_at=row["ends_at"], token=row["token"])
        )
    return dict(by_day)


async def select_slots(
    conn: asyncpg.Connection, service_id: UUID, first_day: date, last_day: date
) -> list[Slot]:
    """The service's live slots, free and booked, of the days in the range, by start."""
    rows = await conn.fetch(
        f"""
        SELECT {SLOT_COLUMNS}
          FROM appointments
         WHERE service_id = $1
           AND occupies_slot
           AND slot_date BETWEEN $2 AND $3
         ORDER BY starts_at
        """,
        service_id,
        first_day,
        last_day,
    )
    return [Slot(**dict(row)) for row in rows]


# The same shape as Slot.to_json, built by PostgreSQL: listing a month of slots spent most of
# its time turning rows into Python objects and back into JSON (bench/README.md). Times are
# the provider's wall clock plus that moment's UTC offset, as `isoformat()` writes them.
SLOTS_AS_JSON = """
    WITH live AS (
        SELECT id,
               service_id,
               slot_date,
               token,
               booked,
               starts_at,
               starts_at AT TIME ZONE $4 AS local_start,
               ends_at   AT TIME ZONE $4 AS local_end,
               (starts_at AT TIME ZONE $4) - (starts_at AT TIME ZONE 'UTC') AS start_offset,
               (ends_at   AT TIME ZONE $4) - (ends_at   AT TIME ZONE 'UTC') AS end_offset
          FROM appointments
         WHERE service_id = $1
           AND occupies_slot
           AND slot_date BETWEEN $2 AND $3
    )
    SELECT coalesce(json_agg(json_build_object(
               'id',         id,
               'service_id', service_id,
               'slot_date',  slot_date,
               'start_time', to_char(local_start, 'YYYY-MM-DD"T"HH24:MI:SS')
                             || CASE WHEN start_offset < interval '0' THEN '-' ELSE '+' END
                             || to_char(greatest(start_offset, -start_offset), 'HH24:MI'),
               'end_time',   to_char(local_end, 'YYYY-MM-DD"T"HH24:MI:SS')
                             || CASE WHEN end_offset < interval '0' THEN '-' ELSE '+' END
                             || to_char(greatest(end_offset, -end_offset), 'HH24:MI'),
               'token',      token,
               'available',  NOT booked
           ) ORDER BY starts_at), '[]')::text  -- sent as it is, never decoded
      FROM live
"""


async def select_slots_json(
    conn: asyncpg.Connection, service_id: UUID, first_day: date, last_day: date, zone: str
) -> str:
    """`select_slots` as a JSON array of the contract's Slot, in the zone named `zone`."""
    found: str = await conn.fetchval(SLOTS_AS_JSON, service_id, first_day, last_day, zone)
    return found


async def select_live_slots_at(
    conn: asyncpg.Connection, service_id: UUID, starts: Sequence[datetime]
) -> list[Slot]:
    """The live rows (free or booked) now offering these start times, by start."""
    rows = await conn.fetch(
        f"""
        SELECT {SLOT_COLUMNS}
          FROM appointments
         WHERE service_id = $1
           AND starts_at = ANY($2::timestamptz[])
           AND occupies_slot
         ORDER BY starts_at
        """,
        service_id,
        list(starts),
    )
    return [Slot(**dict(row)) for row in rows]


async def select_slot(conn: asyncpg.Connection, slot_id: UUID) -> Slot | None:
    """One row as a slot, whatever its state (None for an unknown id)."""
    row = await conn.fetchrow(
        f"""
        SELECT {SLOT_COLUMNS}
          FROM appointments
         WHERE id = $1
        """,
        slot_id,
    )
    return None if row is None else Slot(**dict(row))
