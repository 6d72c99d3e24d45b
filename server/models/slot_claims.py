"""Claiming a free slot: the UPDATE that turns a free row of `appointments` into a PENDING
booking and returns it, so nothing is read again after the write.

`claim_free_slot` decides and writes in one statement (the common case: a customer books a
slot that is free); `book_slot` fills in a row the caller already locked and checked (queue
mode, a waitlist offer, or finding out why a claim failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from server.domain.appointments import PaymentStatus, Status
from server.domain.bookings import CustomerDetails
from server.models.appointments import Appointment, appointment_from_row
from server.models.busy_times import busy
from server.models.slots import offered

# What a claim's UPDATE returns: the booking as the API shows it (APPOINTMENT_COLUMNS, with the
# refund read by a subquery since a just-booked row has none joined), the provider's e-mail
# address for the "new booking" message and the Stripe account a checkout pays into.
_CLAIMED_COLUMNS = """
    a.id, a.service_id, a.slot_date, a.starts_at, a.ends_at, a.token, a.status,
    a.payment_status, a.customer_user_id, a.customer_name, a.customer_email, a.customer_phone,
    a.notes, a.customer_timezone, a.price_cents, a.currency, a.manage_key_hash,
    a.hold_expires_at, a.stripe_checkout_session_id, a.stripe_payment_intent_id, a.booked_at,
    a.paid_at, a.ical_uid, a.ical_sequence,
    s.name AS service_name, s.location, s.cancel_cutoff_minutes,
    p.id AS provider_id, p.user_id AS provider_user_id, p.business_name, p.timezone,
    (SELECT r.status FROM refunds AS r WHERE r.appointment_id = a.id) AS refund_status,
    (SELECT u.email FROM users AS u WHERE u.id = p.user_id) AS provider_email,
    p.stripe_account_id
"""


@dataclass(frozen=True)
class ClaimedSlot:
    """A slot just filled in as a PENDING booking, with what the rest of the booking needs."""

    appointment: Appointment
    provider_email: str
    stripe_account_id: str | None


def _claimed_from_row(row: asyncpg.Record) -> ClaimedSlot:
    values = dict(row)
    provider_email = values.pop("provider_email")
    stripe_account_id = values.pop("stripe_account_id")
    return ClaimedSlot(appointment_from_row(values), provider_email, stripe_account_id)


@dataclass(frozen=True)
class NewBooking:
    customer: CustomerDetails
    customer_user_id: UUID | None
    manage_key_hash: str
    payment_status: PaymentStatus
    price_cents: int
    currency: str
    hold_expires_at: datetime | None


async def book_slot(conn: asyncpg.Connection, slot_id: UUID, booking: NewBooking) -> ClaimedSlot:
    """Fill in the locked free row: from here on it is a PENDING booking, returned."""
    row = await conn.fetchrow(
        f"""
        UPDATE appointments AS a
           SET booked = true,
               status = 'PENDING',
               payment_status = $2,
               customer_user_id = $3,
               customer_name = $4,
               customer_email = $5,
               customer_phone = $6,
               notes = $7,
               customer_timezone = $8,
               manage_key_hash = $9,
               price_cents = $10,
               currency = $11,
               hold_expires_at = $12,
               booked_at = clock_timestamp(),
               updated_at = clock_timestamp()
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE a.id = $1
           AND s.id = a.service_id
           AND NOT a.booked
        RETURNING {_CLAIMED_COLUMNS}
        """,
        slot_id,
        booking.payment_status.value,
        booking.customer_user_id,
        booking.customer.name,
        booking.customer.email,
        booking.customer.phone,
        booking.customer.notes,
        booking.customer.timezone,
        booking.manage_key_hash,
        booking.price_cents,
        booking.currency,
        booking.hold_expires_at,
    )
    assert row is not None, "book_slot needs the row locked and free"
    return _claimed_from_row(row)


@dataclass(frozen=True)
class FreeSlotClaim:
    """A customer's claim on one slot, decided by the database in one statement."""

    customer: CustomerDetails
    customer_user_id: UUID | None
    manage_key_hash: str
    # Online payment is possible here at all (Stripe configured); whether this booking pays
    # online also depends on the service's price and the provider's account.
    stripe_enabled: bool
    hold_expires_at: datetime


def bookable_now(now: str) -> str:
    """SQL true when the slot `a` of service `s` can be booked at the moment `now` (an SQL
    parameter): free and live, its service active, past the minimum notice, not held for the
    waitlist, not under a busy time. Every claim decides by this one test."""
    return f"""(    NOT a.booked
                AND a.occupies_slot
                AND s.is_active
                AND a.starts_at > {now}::timestamptz + make_interval(mins => s.min_notice_minutes)
                AND NOT {offered("a")}
                AND NOT {busy("a")})"""


async def claim_free_slot(
    conn: asyncpg.Connection, slot_id: UUID, claim: FreeSlotClaim, now: datetime
) -> ClaimedSlot | None:
    """Book `slot_id` if it is bookable now, in one UPDATE; None when it is not (taken, held
    for the waitlist, busy, too soon, its service off, or no such slot) and the caller must
    find out why under the row's lock.

    The UPDATE takes the row's lock; a concurrent claim waits on it and then re-checks the
    row as the winner left it, so of any number of claims exactly one fills it in.
    """
    row = await conn.fetchrow(
        f"""
        UPDATE appointments AS a
           SET booked = true,
               status = 'PENDING',
               payment_status = CASE WHEN pay.online THEN 'awaiting_payment'
                                     ELSE 'pay_at_visit' END,
               customer_user_id = $2,
               customer_name = $3,
               customer_email = $4,
               customer_phone = $5,
               notes = $6,
               customer_timezone = $7,
               manage_key_hash = $8,
               price_cents = s.price_cents,
               currency = s.currency,
               hold_expires_at = CASE WHEN pay.online THEN $10::timestamptz END,
               booked_at = clock_timestamp(),
               updated_at = clock_timestamp()
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         CROSS JOIN LATERAL (
               SELECT s.price_cents > 0
                      AND $9::bool
                      AND p.stripe_account_id IS NOT NULL
                      AND p.charges_enabled AS online
         ) AS pay
         WHERE a.id = $1
           AND s.id = a.service_id
           AND {bookable_now("$11")}
        RETURNING {_CLAIMED_COLUMNS}
        """,
        slot_id,
        claim.customer_user_id,
        claim.customer.name,
        claim.customer.email,
        claim.customer.phone,
        claim.customer.notes,
        claim.customer.timezone,
        claim.manage_key_hash,
        claim.stripe_enabled,
        claim.hold_expires_at,
        now,
    )
    return None if row is None else _claimed_from_row(row)


# --- Deciding and writing a booking in one statement (server.models.booking_records) -----------


@dataclass(frozen=True)
class BookableSlot:
    """A free slot that was bookable when read, with everything its booking's records are made
    of; `claim_and_record` books it only if all of this is still so."""

    id: UUID
    service_id: UUID
    slot_date: date
    starts_at: datetime
    ends_at: datetime
    token: int
    ical_sequence: int
    service_name: str
    location: str | None
    cancel_cutoff_minutes: int
    price_cents: int
    currency: str
    provider_id: UUID
    provider_user_id: UUID
    business_name: str
    timezone: str
    stripe_account_id: str | None
    provider_email: str
    # Paid online (the service has a price, Stripe is set up here, the provider can charge).
    online: bool


async def select_bookable_slot(
    conn: asyncpg.Connection, slot_id: UUID, *, stripe_enabled: bool, now: datetime
) -> BookableSlot | None:
    """The slot, if a claim would book it now (as `claim_free_slot` decides); None otherwise."""
    row = await conn.fetchrow(
        f"""
        SELECT a.id, a.service_id, a.slot_date, a.starts_at, a.ends_at, a.token,
               a.ical_sequence, s.name AS service_name, s.location, s.cancel_cutoff_minutes,
               s.price_cents, s.currency, p.id AS provider_id, p.user_id AS provider_user_id,
               p.business_name, p.timezone, p.stripe_account_id,
               (SELECT u.email FROM users AS u WHERE u.id = p.user_id) AS provider_email,
               s.price_cents > 0
               AND $2::bool
               AND p.stripe_account_id IS NOT NULL
               AND p.charges_enabled AS online
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
          JOIN providers AS p ON p.id = s.provider_id
         WHERE a.id = $1
           AND {bookable_now("$3")}
        """,
        slot_id,
        stripe_enabled,
        now,
    )
    return None if row is None else BookableSlot(**dict(row))


def booking_of(slot: BookableSlot, claim: FreeSlotClaim, *, booked_at: datetime) -> Appointment:
    """The booking `slot` becomes when `claim` books it at `booked_at`, as the row will read."""
    return Appointment(
        id=slot.id,
        service_id=slot.service_id,
        service_name=slot.service_name,
        location=slot.location,
        provider_id=slot.provider_id,
        provider_user_id=slot.provider_user_id,
        business_name=slot.business_name,
        timezone=slot.timezone,
        slot_date=slot.slot_date,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        token=slot.token,
        status=Status.PENDING,
        payment_status=(
            PaymentStatus.AWAITING_PAYMENT if slot.online else PaymentStatus.PAY_AT_VISIT
        ),
        customer_user_id=claim.customer_user_id,
        customer_name=claim.customer.name,
        customer_email=claim.customer.email,
        customer_phone=claim.customer.phone,
        notes=claim.customer.notes,
        customer_timezone=claim.customer.timezone,
        price_cents=slot.price_cents,
        currency=slot.currency,
        manage_key_hash=claim.manage_key_hash,
        hold_expires_at=claim.hold_expires_at if slot.online else None,
        stripe_checkout_session_id=None,
        stripe_payment_intent_id=None,
        booked_at=booked_at,
        paid_at=None,
        cancel_cutoff_minutes=slot.cancel_cutoff_minutes,
        ical_sequence=slot.ical_sequence,
    )
