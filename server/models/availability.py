"""Date overrides, time off, the free slots they withdraw, and the bookings they conflict with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.hours import Interval, parse_intervals
from server.domain.slots import Closure
from server.models.appointments import (
    APPOINTMENT_COLUMNS,
    APPOINTMENT_FROM,
    Appointment,
    appointment_from_row,
)
from server.models.services import SERVICE_COLUMNS, Service, service_from_row
from server.models.slots import SLOT_COLUMNS, Slot

# --- Date overrides ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DateOverride:
    day: date
    hours: list[list[str]]

    def to_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "hours": self.hours}


async def upsert_override(
    conn: asyncpg.Connection, service_id: UUID, day: date, hours: list[list[str]]
) -> DateOverride:
    row = await conn.fetchrow(
        """
        INSERT INTO service_date_overrides (service_id, override_date, hours)
        VALUES ($1, $2, $3)
        ON CONFLICT (service_id, override_date)
        DO UPDATE SET hours = EXCLUDED.hours, updated_at = now()
        RETURNING override_date, hours
        """,
        service_id,
        day,
        hours,
    )
    return DateOverride(row["override_date"], row["hours"])


async def delete_override(conn: asyncpg.Connection, service_id: UUID, day: date) -> bool:
    """Remove the date's override; False when it had none."""
    deleted = await conn.fetchval(
        """
        DELETE FROM service_date_overrides
         WHERE service_id = $1
           AND override_date = $2
        RETURNING override_date
        """,
        service_id,
        day,
    )
    return deleted is not None


async def select_overrides(
    conn: asyncpg.Connection, service_id: UUID, first_day: date, last_day: date | None = None
) -> list[DateOverride]:
    """The service's overrides from `first_day` (to `last_day`, when given), by date."""
    rows = await conn.fetch(
        """
        SELECT override_date, hours
          FROM service_date_overrides
         WHERE service_id = $1
           AND override_date >= $2
           AND ($3::date IS NULL OR override_date <= $3)
         ORDER BY override_date
        """,
        service_id,
        first_day,
        last_day,
    )
    return [DateOverride(row["override_date"], row["hours"]) for row in rows]


async def select_override_intervals(
    conn: asyncpg.Connection, service_id: UUID, first_day: date, last_day: date
) -> dict[date, tuple[Interval, ...]]:
    """The overrides of the days in range, as slot generation takes them."""
    found = await select_overrides(conn, service_id, first_day, last_day)
    return {override.day: parse_intervals(override.hours) for override in found}


# --- Time off ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeOff:
    id: UUID
    provider_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None

    def to_json(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "starts_at": self.starts_at.astimezone(zone).isoformat(),
            "ends_at": self.ends_at.astimezone(zone).isoformat(),
            "reason": self.reason,
        }

    @property
    def closure(self) -> Closure:
        return Closure(self.starts_at, self.ends_at)


_TIME_OFF_COLUMNS = "id, provider_id, starts_at, ends_at, reason"


async def insert_time_off(
    conn: asyncpg.Connection,
    provider_id: UUID,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None,
) -> TimeOff:
    row = await conn.fetchrow(
        f"""
        INSERT INTO provider_time_off (provider_id, starts_at, ends_at, reason)
        VALUES ($1, $2, $3, $4)
        RETURNING {_TIME_OFF_COLUMNS}
        """,
        provider_id,
        starts_at,
        ends_at,
        reason,
    )
    return TimeOff(**dict(row))


async def delete_time_off(
    conn: asyncpg.Connection, provider_id: UUID, time_off_id: UUID
) -> TimeOff | None:
    row = await conn.fetchrow(
        f"""
        DELETE FROM provider_time_off
         WHERE id = $1
           AND provider_id = $2
        RETURNING {_TIME_OFF_COLUMNS}
        """,
        time_off_id,
        provider_id,
    )
    return None if row is None else TimeOff(**dict(row))


async def select_time_off(
    conn: asyncpg.Connection,
    provider_id: UUID,
    *,
    ending_after: datetime,
    starting_before: datetime | None = None,
) -> list[TimeOff]:
    """The provider's time off that ends after `ending_after` (and starts before
    `starting_before`, when given), by start."""
    rows = await conn.fetch(
        f"""
        SELECT {_TIME_OFF_COLUMNS}
          FROM provider_time_off
         WHERE provider_id = $1
           AND ends_at > $2
           AND ($3::timestamptz IS NULL OR starts_at < $3)
         ORDER BY starts_at, id
        """,
        provider_id,
        ending_after,
        starting_before,
    )
    return [TimeOff(**dict(row)) for row in rows]


# --- Withdrawing free slots -------------------------------------------------------------------


async def withdraw_free_slots(
    conn: asyncpg.Connection,
    service_id: UUID,
    *,
    after: datetime,
    on_day: date | None = None,
    overlapping: Closure | None = None,
) -> list[Slot]:
    """Delete the service's free slots starting after `after`, of one day or overlapping a
    span, and remember their ids so a late booking of one is told it was withdrawn.

    Deleting waits for any booking holding one of these rows; a row that booking filled is
    no longer free and stays.
    """
    rows = await conn.fetch(
        f"""
        WITH gone AS (
            DELETE FROM appointments
             WHERE service_id = $1
               AND NOT booked
               AND starts_at > $2
               AND ($3::date IS NULL OR slot_date = $3)
               AND ($4::timestamptz IS NULL OR (starts_at < $5 AND ends_at > $4))
            RETURNING {SLOT_COLUMNS}
        ), remembered AS (
            INSERT INTO withdrawn_slots (slot_id, service_id, starts_at)
            SELECT id, service_id, starts_at
              FROM gone
            ON CONFLICT (slot_id) DO NOTHING
        )
        SELECT {SLOT_COLUMNS}
          FROM gone
        """,
        service_id,
        after,
        on_day,
        None if overlapping is None else overlapping.starts_at,
        None if overlapping is None else overlapping.ends_at,
    )
    return [Slot(**dict(row)) for row in rows]


async def forget_passed_withdrawals(conn: asyncpg.Connection, now: datetime) -> None:
    """A withdrawn slot whose time has passed needs no explaining any more."""
    await conn.execute("DELETE FROM withdrawn_slots WHERE starts_at <= $1", now)


async def was_withdrawn(conn: asyncpg.Connection, slot_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM withdrawn_slots WHERE slot_id = $1)", slot_id
    )
    return found


# --- Conflicts --------------------------------------------------------------------------------


async def select_upcoming_bookings(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    service_id: UUID | None = None,
    provider_id: UUID | None = None,
    on_day: date | None = None,
    overlapping: Closure | None = None,
) -> list[Appointment]:
    """Pending and confirmed bookings that have not ended, of one service or of all of one
    provider's services, of one day or overlapping a span, by start."""
    rows = await conn.fetch(
        f"""
        SELECT {APPOINTMENT_COLUMNS}
        {APPOINTMENT_FROM}
         WHERE ($1::uuid IS NULL OR a.service_id = $1)
           AND ($2::uuid IS NULL OR s.provider_id = $2)
           AND a.booked
           AND a.status IN ('PENDING', 'CONFIRMED')
           AND a.ends_at > $3
           AND ($4::date IS NULL OR a.slot_date = $4)
           AND ($5::timestamptz IS NULL OR (a.starts_at < $6 AND a.ends_at > $5))
         ORDER BY a.starts_at, a.id
        """,
        service_id,
        provider_id,
        now,
        on_day,
        None if overlapping is None else overlapping.starts_at,
        None if overlapping is None else overlapping.ends_at,
    )
    return [appointment_from_row(row) for row in rows]


async def lock_provider_services(conn: asyncpg.Connection, provider_id: UUID) -> list[Service]:
    """Lock the provider row, then every one of its active services in id order.

    The provider row's lock makes a service being created right now wait (its insert needs
    a key-share lock on the provider), so no new service slips past. Each service row is
    locked before any of its slots, the order a regeneration takes, and in id order, so two
    callers like this one cannot deadlock.
    """
    await conn.execute("SELECT id FROM providers WHERE id = $1 FOR UPDATE", provider_id)
    rows = await conn.fetch(
        f"""
        SELECT {SERVICE_COLUMNS}
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.provider_id = $1
           AND s.is_active
         ORDER BY s.id
           FOR UPDATE OF s
        """,
        provider_id,
    )
    return [service_from_row(row) for row in rows]
