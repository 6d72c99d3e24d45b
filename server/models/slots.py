"""Slots: the rows of `appointments`, free (booked = false) or booked, seen as bookable times."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.slots import ExistingSlot, GeneratedSlot
from server.models.busy_times import busy


@dataclass(frozen=True)
class Slot:
    id: UUID
    service_id: UUID
    slot_date: date
    starts_at: datetime
    ends_at: datetime
    token: int
    booked: bool
    # Free but inside its service's minimum notice (or past): shown, not bookable.
    too_soon: bool = False
    # Free but held for someone on the waitlist (a `waitlist_offers` row): not bookable.
    held: bool = False
    # Free but overlapping one of the provider's busy times (sql/0018): not bookable.
    busy: bool = False

    def to_json(self, zone: ZoneInfo) -> dict[str, Any]:
        """Times carry the provider's UTC offset on that day, e.g. 2026-11-24T09:30:00+00:00."""
        return {
            "id": str(self.id),
            "service_id": str(self.service_id),
            "slot_date": self.slot_date.isoformat(),
            "start_time": self.starts_at.astimezone(zone).isoformat(),
            "end_time": self.ends_at.astimezone(zone).isoformat(),
            "token": self.token,
            "available": not (self.booked or self.too_soon or self.held or self.busy),
        }


SLOT_COLUMNS = "id, service_id, slot_date, starts_at, ends_at, token, booked"


def offered(row: str) -> str:
    """SQL true when the free slot row `row` (a table name or alias) is held for someone on the
    waitlist (sql/0016: an offer row names it)."""
    return f"EXISTS (SELECT 1 FROM waitlist_offers AS offer WHERE offer.slot_id = {row}.id)"


# From this many slots on, `insert_slots` writes them with COPY (a long horizon's worth):
# a top-up of 365 days is thousands of rows a service, and COPY writes them at bulk-load speed.
COPY_FROM = 100
_COPY_COLUMNS = ("id", "service_id", "slot_date", "starts_at", "ends_at", "token")


async def insert_slots(
    conn: asyncpg.Connection, service_id: UUID, slots: Sequence[GeneratedSlot]
) -> list[Slot]:
    """Insert free slots in one statement; rows that would collide with a live row are skipped.

    Returns the rows actually inserted, so running it twice inserts nothing new; one overlapping
    the provider's busy times comes back `busy` (shown unavailable). Call inside a transaction
    holding the service row's lock (every writer of a service's slots takes it), with `slots`
    generated around the live rows: then nothing collides, and many slots go in by COPY.
    """
    if not slots:
        return []
    if len(slots) >= COPY_FROM:
        copied = await _copy_slots(conn, service_id, slots)
        if copied is not None:
            return copied
    rows = await conn.fetch(
        f"""
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        SELECT $1, slot_date, starts_at, ends_at, token
          FROM unnest($2::date[], $3::timestamptz[], $4::timestamptz[], $5::int[])
            AS generated (slot_date, starts_at, ends_at, token)
        ON CONFLICT DO NOTHING
        RETURNING {SLOT_COLUMNS}, {busy("appointments")} AS busy
        """,
        service_id,
        [slot.slot_date for slot in slots],
        [slot.starts_at for slot in slots],
        [slot.ends_at for slot in slots],
        [slot.token for slot in slots],
    )
    return [Slot(**dict(row)) for row in rows]


async def _copy_slots(
    conn: asyncpg.Connection, service_id: UUID, slots: Sequence[GeneratedSlot]
) -> list[Slot] | None:
    """`slots` written with one COPY (ids made here, so nothing is read back); None, with
    nothing written, when one of them collides with a live row after all (the caller then
    inserts them one statement at a time, skipping the collisions)."""
    ids = [uuid4() for _ in slots]
    records = [
        (slot_id, service_id, slot.slot_date, slot.starts_at, slot.ends_at, slot.token)
        for slot_id, slot in zip(ids, slots, strict=True)
    ]
    try:
        async with conn.transaction():  # a savepoint: a failed COPY leaves nothing behind
            await conn.copy_records_to_table("appointments", records=records, columns=_COPY_COLUMNS)
    except asyncpg.UniqueViolationError:
        return None
    busy_times = await _busy_intervals(
        conn,
        service_id,
        min(slot.starts_at for slot in slots),
        max(slot.ends_at for slot in slots),
    )
    return [
        Slot(
            id=slot_id,
            service_id=service_id,
            slot_date=slot.slot_date,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            token=slot.token,
            booked=False,
            busy=any(
                starts < slot.ends_at and ends > slot.starts_at for starts, ends in busy_times
            ),
        )
        for slot_id, slot in zip(ids, slots, strict=True)
    ]


async def _busy_intervals(
    conn: asyncpg.Connection, service_id: UUID, first_start: datetime, last_end: datetime
) -> list[tuple[datetime, datetime]]:
    """The provider's busy times (sql/0018) between two moments, as `busy()` reads them."""
    rows = await conn.fetch(
        """
        SELECT busy.starts_at, busy.ends_at
          FROM busy_times AS busy
          JOIN services AS busy_service ON busy_service.provider_id = busy.provider_id
         WHERE busy_service.id = $1
           AND busy.starts_at < $3
           AND busy.ends_at > $2
        """,
        service_id,
        first_start,
        last_end,
    )
    return [(row["starts_at"], row["ends_at"]) for row in rows]


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
# Given a moment ($5), a free slot starting no later than that moment plus the service's
# minimum notice is shown unavailable, as the booking claim would refuse it; so is a free slot
# held for someone on the waitlist, and so is one overlapping the provider's busy times.
SLOTS_AS_JSON = f"""
    WITH live AS (
        SELECT id,
               service_id,
               slot_date,
               token,
               booked,
               booked OR starts_at <= $5::timestamptz + make_interval(
                   mins => (SELECT min_notice_minutes FROM services WHERE id = $1)
               ) AS unavailable,
               {offered("appointments")} AS held,
               NOT booked AND {busy("appointments")} AS busy,
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
               'available',  NOT (coalesce(unavailable, booked) OR held OR busy)
           ) ORDER BY starts_at), '[]')::text  -- sent as it is, never decoded
      FROM live
"""


async def select_slots_json(
    conn: asyncpg.Connection,
    service_id: UUID,
    first_day: date,
    last_day: date,
    zone: str,
    *,
    now: datetime | None = None,
) -> str:
    """`select_slots` as a JSON array of the contract's Slot, in the zone named `zone`.

    With `now`, free slots inside the minimum notice (or past) show `available: false`;
    without it only booked ones do.
    """
    found: str = await conn.fetchval(SLOTS_AS_JSON, service_id, first_day, last_day, zone, now)
    return found


async def select_live_slots_at(
    conn: asyncpg.Connection,
    service_id: UUID,
    starts: Sequence[datetime],
    *,
    now: datetime | None = None,
) -> list[Slot]:
    """The live rows (free or booked) now offering these start times, by start; with `now`,
    free ones inside the minimum notice are marked `too_soon`; ones held for the waitlist are
    marked `held`, ones overlapping a busy time `busy`."""
    rows = await conn.fetch(
        f"""
        SELECT {SLOT_COLUMNS},
               coalesce(starts_at <= $3::timestamptz + make_interval(
                   mins => (SELECT min_notice_minutes FROM services WHERE id = $1)
               ), false) AS too_soon,
               {offered("appointments")} AS held,
               NOT booked AND {busy("appointments")} AS busy
          FROM appointments
         WHERE service_id = $1
           AND starts_at = ANY($2::timestamptz[])
           AND occupies_slot
         ORDER BY starts_at
        """,
        service_id,
        list(starts),
        now,
    )
    return [Slot(**dict(row)) for row in rows]


async def select_free_slots_within(
    conn: asyncpg.Connection, service_id: UUID, intervals: Sequence[tuple[datetime, datetime]]
) -> list[Slot]:
    """The service's live free slots, not held for the waitlist, that overlap any of
    `intervals`, by start; each marked `busy` if it overlaps the provider's busy times now."""
    rows = await conn.fetch(
        f"""
        SELECT {SLOT_COLUMNS},
               {busy("appointments")} AS busy
          FROM appointments
         WHERE service_id = $1
           AND occupies_slot
           AND NOT booked
           AND NOT {offered("appointments")}
           AND EXISTS (SELECT 1
                         FROM unnest($2::timestamptz[], $3::timestamptz[])
                              AS given (starts_at, ends_at)
                        WHERE given.starts_at < appointments.ends_at
                          AND given.ends_at > appointments.starts_at)
         ORDER BY starts_at
        """,
        service_id,
        [start for start, _ in intervals],
        [end for _, end in intervals],
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


@dataclass(frozen=True)
class NextCrossing:
    """When the service's next free slot stops being bookable: `starts_at` minus the notice."""

    min_notice_minutes: int
    starts_at: datetime | None  # the slot's start; None when no free slot lies ahead

    @property
    def at(self) -> datetime | None:
        if self.starts_at is None:
            return None
        return self.starts_at - timedelta(minutes=self.min_notice_minutes)


async def select_next_notice_crossing(
    conn: asyncpg.Connection, service_id: UUID, now: datetime
) -> NextCrossing | None:
    """The service's notice and its earliest free slot still bookable at `now` (None for an
    unknown service)."""
    row = await conn.fetchrow(
        """
        SELECT s.min_notice_minutes,
               (SELECT min(a.starts_at)
                  FROM appointments AS a
                 WHERE a.service_id = s.id
                   AND a.occupies_slot
                   AND NOT a.booked
                   AND a.starts_at > $2::timestamptz
                                     + make_interval(mins => s.min_notice_minutes)
               ) AS starts_at
          FROM services AS s
         WHERE s.id = $1
        """,
        service_id,
        now,
    )
    return None if row is None else NextCrossing(row["min_notice_minutes"], row["starts_at"])


async def select_slots_crossing_notice(
    conn: asyncpg.Connection, service_id: UUID, since: datetime, now: datetime
) -> list[Slot]:
    """Free slots that stopped being bookable between `since` and `now`, as they look now."""
    rows = await conn.fetch(
        f"""
        SELECT {", ".join(f"a.{column}" for column in SLOT_COLUMNS.split(", "))},
               true AS too_soon
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
         WHERE a.service_id = $1
           AND a.occupies_slot
           AND NOT a.booked
           AND a.starts_at > $2::timestamptz + make_interval(mins => s.min_notice_minutes)
           AND a.starts_at <= $3::timestamptz + make_interval(mins => s.min_notice_minutes)
         ORDER BY a.starts_at
        """,
        service_id,
        since,
        now,
    )
    return [Slot(**dict(row)) for row in rows]
