"""The payment columns of a booked `appointments` row: holds, payment and refund marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class ExpiredHold:
    """An unpaid live booking whose hold ran out, and what closing its session needs."""

    appointment_id: UUID
    session_id: str | None
    booked_at: datetime
    # A delayed payment was processing when we last asked Stripe.
    processing: bool


async def select_expired_holds(
    conn: asyncpg.Connection, now: datetime, *, limit: int
) -> list[ExpiredHold]:
    """Unpaid live bookings whose hold ran out by `now`, oldest first, not locked: each is
    closed at Stripe first and then re-checked under its row lock (server.usecases.holds). A
    hold whose delayed payment is processing waits until its next check is due."""
    rows = await conn.fetch(
        """
        SELECT id, stripe_checkout_session_id, booked_at,
               payment_check_after IS NOT NULL AS processing
          FROM appointments
         WHERE payment_status = 'awaiting_payment'
           AND occupies_slot
           AND status IN ('PENDING', 'CONFIRMED')
           AND hold_expires_at <= $1
           AND (payment_check_after IS NULL OR payment_check_after <= $1)
         ORDER BY hold_expires_at
         LIMIT $2
        """,
        now,
        limit,
    )
    return [
        ExpiredHold(
            appointment_id=row["id"],
            session_id=row["stripe_checkout_session_id"],
            booked_at=row["booked_at"],
            processing=row["processing"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class OpenSession:
    appointment_id: UUID
    session_id: str


async def select_sessions_to_close(
    conn: asyncpg.Connection, now: datetime, *, since: datetime, limit: int
) -> list[OpenSession]:
    """Cancelled or rejected unpaid bookings (booked after `since`) whose Checkout Session was
    not yet closed at Stripe: it could still be paid."""
    rows = await conn.fetch(
        """
        SELECT id, stripe_checkout_session_id
          FROM appointments
         WHERE payment_status = 'awaiting_payment'
           AND stripe_checkout_session_id IS NOT NULL
           AND checkout_closed_at IS NULL
           AND status IN ('CANCELLED', 'REJECTED')
           AND booked_at > $1
           AND booked_at <= $2
         ORDER BY booked_at
         LIMIT $3
        """,
        since,
        now,
        limit,
    )
    return [OpenSession(row["id"], row["stripe_checkout_session_id"]) for row in rows]


async def mark_checkout_closed(conn: asyncpg.Connection, appointment_id: UUID) -> None:
    """Nothing more can be paid on the booking's session (expired, or completed)."""
    await conn.execute(
        """
        UPDATE appointments
           SET checkout_closed_at = coalesce(checkout_closed_at, clock_timestamp()),
               payment_check_after = NULL,
               updated_at = clock_timestamp()
         WHERE id = $1
        """,
        appointment_id,
    )


async def mark_payment_processing(
    conn: asyncpg.Connection, appointment_id: UUID, check_after: datetime
) -> bool:
    """A delayed payment is under way: keep the live hold, and ask Stripe again after
    `check_after` if no event settled it by then. False when the booking is not a live hold."""
    updated: UUID | None = await conn.fetchval(
        """
        UPDATE appointments
           SET payment_check_after = $2,
               updated_at = clock_timestamp()
         WHERE id = $1
           AND payment_status = 'awaiting_payment'
           AND occupies_slot
           AND status IN ('PENDING', 'CONFIRMED')
        RETURNING id
        """,
        appointment_id,
        check_after,
    )
    return updated is not None


async def set_checkout(
    conn: asyncpg.Connection, appointment_id: UUID, session_id: str, url: str
) -> None:
    """The booking's Checkout Session and the URL its customer pays on."""
    await conn.execute(
        """
        UPDATE appointments
           SET stripe_checkout_session_id = $2,
               checkout_url = $3,
               updated_at = clock_timestamp()
         WHERE id = $1
        """,
        appointment_id,
        session_id,
        url,
    )


@dataclass(frozen=True)
class CheckoutRecord:
    """What answering a replayed booking request with its Checkout URL needs."""

    checkout_url: str | None
    awaiting_payment: bool
    live: bool
    hold_expires_at: datetime | None
    stripe_account_id: str | None


async def select_checkout(conn: asyncpg.Connection, appointment_id: UUID) -> CheckoutRecord | None:
    row = await conn.fetchrow(
        """
        SELECT a.checkout_url, a.payment_status, a.status, a.occupies_slot, a.hold_expires_at,
               p.stripe_account_id
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
          JOIN providers AS p ON p.id = s.provider_id
         WHERE a.id = $1
        """,
        appointment_id,
    )
    if row is None:
        return None
    return CheckoutRecord(
        checkout_url=row["checkout_url"],
        awaiting_payment=row["payment_status"] == "awaiting_payment",
        live=row["occupies_slot"] and row["status"] in ("PENDING", "CONFIRMED"),
        hold_expires_at=row["hold_expires_at"],
        stripe_account_id=row["stripe_account_id"],
    )


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
               payment_check_after = NULL,
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
