"""The payment columns of a booked `appointments` row: holds, payment and refund marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg


async def lock_next_expired_hold(
    conn: asyncpg.Connection, now: datetime, *, passed_over: Sequence[UUID] = ()
) -> UUID | None:
    """The oldest unpaid booking whose hold ran out, locked with its service row.

    SKIP LOCKED on both rows: a hold another worker (or a customer's move) is busy with is
    passed over rather than waited for, so two sweeps never fight and never deadlock; the
    locks are the ones move_appointment takes next, so it finds them already held.
    """
    found: UUID | None = await conn.fetchval(
        """
        SELECT a.id
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
         WHERE a.payment_status = 'awaiting_payment'
           AND a.occupies_slot
           AND a.status IN ('PENDING', 'CONFIRMED')
           AND a.hold_expires_at <= $1
           AND a.id <> ALL($2::uuid[])
         ORDER BY a.hold_expires_at
         LIMIT 1
           FOR UPDATE OF a, s SKIP LOCKED
        """,
        now,
        list(passed_over),
    )
    return found


async def mark_paid(
    conn: asyncpg.Connection, appointment_id: UUID, payment_intent_id: str | None
) -> bool:
    """Record the payment of an unpaid online booking (its hold ends); False if not unpaid."""
    updated: UUID | None = await conn.fetchval(
        """
        UPDATE appointments
           SET payment_status = 'paid',
               paid_at = clock_timestamp(),
               stripe_payment_intent_id = $2,
               hold_expires_at = NULL,
               updated_at = clock_timestamp()
         WHERE id = $1
           AND booked
           AND payment_status = 'awaiting_payment'
        RETURNING id
        """,
        appointment_id,
        payment_intent_id,
    )
    return updated is not None


async def mark_refunded(conn: asyncpg.Connection, appointment_id: UUID) -> bool:
    """The booking's payment went back to the customer; False when it was not `paid`."""
    updated: UUID | None = await conn.fetchval(
        """
        UPDATE appointments
           SET payment_status = 'refunded',
               updated_at = clock_timestamp()
         WHERE id = $1
           AND payment_status = 'paid'
        RETURNING id
        """,
        appointment_id,
    )
    return updated is not None


async def select_appointment_id_by_payment_intent(
    conn: asyncpg.Connection, payment_intent_id: str
) -> UUID | None:
    found: UUID | None = await conn.fetchval(
        """
        SELECT id
          FROM appointments
         WHERE stripe_payment_intent_id = $1
        """,
        payment_intent_id,
    )
    return found
