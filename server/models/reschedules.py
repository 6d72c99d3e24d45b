"""Moving a booked row of `appointments` to the time of a free one.

A booking is the slot row it was made from, so a move keeps the booking's row (its id, manage
key, payment and history) and gives it the free row's time and token; the free row itself is
deleted, absorbed into the booking. The unique indexes and the exclusion constraint over booked
rows (sql/0002) still hold the line if anything here is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from server.domain.appointments import Status
from server.models.slots import SLOT_COLUMNS, Slot


async def lock_service_of_appointment(conn: asyncpg.Connection, appointment_id: UUID) -> bool:
    """Lock the service row of the appointment (the first lock any slot change takes, so a
    move cannot deadlock with a cancel, a regeneration or another move); False when unknown."""
    found = await conn.fetchval(
        """
        SELECT s.id
          FROM services AS s
          JOIN appointments AS a ON a.service_id = s.id
         WHERE a.id = $1
           FOR UPDATE OF s
        """,
        appointment_id,
    )
    return found is not None


async def lock_rows_in_order(conn: asyncpg.Connection, row_ids: list[UUID]) -> None:
    """Lock rows of `appointments` one at a time, in id order: any two transactions locking
    the same pair do it in the same order, so neither can hold one while waiting for the
    other's."""
    for row_id in sorted(set(row_ids)):
        await conn.execute(
            """
            SELECT id
              FROM appointments
             WHERE id = $1
               FOR UPDATE
            """,
            row_id,
        )


async def delete_free_slot(conn: asyncpg.Connection, slot_id: UUID) -> Slot | None:
    """Delete a locked free row (its time now belongs to a booking that moved there)."""
    row = await conn.fetchrow(
        f"""
        DELETE FROM appointments
         WHERE id = $1
           AND NOT booked
        RETURNING {SLOT_COLUMNS}
        """,
        slot_id,
    )
    return None if row is None else Slot(**dict(row))


async def record_absorbed(
    conn: asyncpg.Connection, slot: Slot, appointment_id: UUID, now: datetime
) -> None:
    """Remember that `slot` became part of a booking, so a late claim for it is told it was
    taken; forget absorbed rows whose time has passed."""
    await conn.execute("DELETE FROM absorbed_slots WHERE starts_at <= $1", now)
    await conn.execute(
        """
        INSERT INTO absorbed_slots (slot_id, service_id, appointment_id, starts_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (slot_id) DO NOTHING
        """,
        slot.id,
        slot.service_id,
        appointment_id,
        slot.starts_at,
    )


async def was_absorbed(conn: asyncpg.Connection, slot_id: UUID) -> bool:
    """Whether `slot_id` was a free row a moved booking took the place of."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM absorbed_slots WHERE slot_id = $1)", slot_id
    )
    return found


@dataclass(frozen=True)
class NewTime:
    """Where a booking moves: the absorbed free row's day, times and token."""

    slot_date: date
    starts_at: datetime
    ends_at: datetime
    token: int


async def move_booking(
    conn: asyncpg.Connection, appointment_id: UUID, to: NewTime, status: Status
) -> None:
    """Give a locked booking its new time, token and status; its calendar event changes."""
    await conn.execute(
        """
        UPDATE appointments
           SET slot_date = $2,
               starts_at = $3,
               ends_at = $4,
               token = $5,
               status = $6,
               ical_sequence = ical_sequence + 1,
               rescheduled_at = clock_timestamp(),
               updated_at = clock_timestamp()
         WHERE id = $1
           AND booked
        """,
        appointment_id,
        to.slot_date,
        to.starts_at,
        to.ends_at,
        to.token,
        status.value,
    )


@dataclass(frozen=True)
class MoveRecord:
    """One history line of a reschedule: who moved it, from and to which times."""

    appointment_id: UUID
    from_status: Status
    to_status: Status
    actor: str
    actor_user_id: UUID | None
    moved_from: tuple[datetime, datetime]
    moved_to: tuple[datetime, datetime]


async def insert_move_event(conn: asyncpg.Connection, record: MoveRecord) -> None:
    """Append the move to the appointment's history (the table refuses edits and deletes)."""
    await conn.execute(
        """
        INSERT INTO appointment_events (appointment_id, from_status, to_status, actor,
                                        actor_user_id, reason, moved_from, moved_to)
        VALUES ($1, $2, $3, $4, $5, 'rescheduled',
                tstzrange($6, $7), tstzrange($8, $9))
        """,
        record.appointment_id,
        record.from_status.value,
        record.to_status.value,
        record.actor,
        record.actor_user_id,
        *record.moved_from,
        *record.moved_to,
    )
