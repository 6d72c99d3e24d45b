"""A provider's bookings across all of their services: a day's schedule, or those in one status.

Only booked rows are read (a free slot is not an appointment). Ended bookings (cancelled,
rejected) are included: the provider's records keep them, and their time shows up again as a
separate free slot.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from server.domain.appointments import Status
from server.models.appointments import (
    APPOINTMENT_COLUMNS,
    APPOINTMENT_FROM,
    Appointment,
    appointment_from_row,
)


async def select_provider_day(
    conn: asyncpg.Connection, provider_id: UUID, day: date
) -> list[Appointment]:
    """The provider's bookings on `day` (a date in the provider's time zone), by start time."""
    rows = await conn.fetch(
        f"""
        SELECT {APPOINTMENT_COLUMNS}
        {APPOINTMENT_FROM}
         WHERE s.provider_id = $1
           AND a.slot_date = $2
           AND a.booked
         ORDER BY a.starts_at, a.booked_at, a.id
        """,
        provider_id,
        day,
    )
    return [appointment_from_row(row) for row in rows]


async def select_provider_appointments_by_status(
    conn: asyncpg.Connection, provider_id: UUID, status: Status, *, limit: int
) -> list[Appointment]:
    """The provider's bookings in `status`, soonest first."""
    rows = await conn.fetch(
        f"""
        SELECT {APPOINTMENT_COLUMNS}
        {APPOINTMENT_FROM}
         WHERE s.provider_id = $1
           AND a.status = $2
           AND a.booked
         ORDER BY a.starts_at, a.booked_at, a.id
         LIMIT $3
        """,
        provider_id,
        status.value,
        limit,
    )
    return [appointment_from_row(row) for row in rows]
