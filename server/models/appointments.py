"""Booked rows of `appointments`: claiming a slot, reading bookings, changing their status.

A free slot and the booking made of it are the same row; see sql/0002 for the constraints that
make a double booking impossible whatever this module does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.appointments import PaymentStatus, Status
from server.models.busy_times import busy
from server.models.slots import offered

APPOINTMENT_COLUMNS = """
    a.id, a.service_id, a.slot_date, a.starts_at, a.ends_at, a.token, a.status,
    a.payment_status, a.customer_user_id, a.customer_name, a.customer_email, a.customer_phone,
    a.notes, a.customer_timezone, a.price_cents, a.currency, a.manage_key_hash,
    a.hold_expires_at, a.stripe_checkout_session_id, a.stripe_payment_intent_id, a.booked_at,
    a.paid_at, a.ical_uid, a.ical_sequence,
    s.name AS service_name, s.location, s.cancel_cutoff_minutes,
    p.id AS provider_id, p.user_id AS provider_user_id, p.business_name, p.timezone,
    r.status AS refund_status
"""
APPOINTMENT_FROM = """
      FROM appointments AS a
      JOIN services AS s ON s.id = a.service_id
      JOIN providers AS p ON p.id = s.provider_id
      LEFT JOIN refunds AS r ON r.appointment_id = a.id
"""


@dataclass(frozen=True)
class Appointment:
    id: UUID
    service_id: UUID
    service_name: str
    location: str | None
    provider_id: UUID
    provider_user_id: UUID
    business_name: str
    timezone: str
    slot_date: date
    starts_at: datetime
    ends_at: datetime
    token: int
    status: Status
    payment_status: PaymentStatus
    customer_user_id: UUID | None
    customer_name: str
    customer_email: str
    customer_phone: str | None
    notes: str | None
    customer_timezone: str | None
    price_cents: int
    currency: str
    manage_key_hash: str
    hold_expires_at: datetime | None
    stripe_checkout_session_id: str | None
    stripe_payment_intent_id: str | None
    booked_at: datetime
    paid_at: datetime | None
    # requested | succeeded | failed, once a paid booking ended (server.usecases.refunds).
    refund_status: str | None = None
    # The service's cut-off: the customer may cancel until start minus this many minutes.
    cancel_cutoff_minutes: int = 0
    # What every .ics about this booking says: its UID (set once, when booked) and a SEQUENCE
    # that grows with each change (sql/0015), so calendars update one event.
    ical_uid: str | None = None
    ical_sequence: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_json(self) -> dict[str, Any]:
        """The contract's Appointment, plus the provider and price the pages show."""
        zone = self.zone
        return {
            "id": str(self.id),
            "service_id": str(self.service_id),
            "service_name": self.service_name,
            "slot_date": self.slot_date.isoformat(),
            "start_time": self.starts_at.astimezone(zone).isoformat(),
            "end_time": self.ends_at.astimezone(zone).isoformat(),
            "token": self.token,
            "status": self.status.value,
            "payment_status": self.payment_status.value,
            "customer_name": self.customer_name,
            "customer_email": self.customer_email,
            "customer_phone": self.customer_phone,
            "notes": self.notes,
            "customer_timezone": self.customer_timezone,
            "created_at": self.booked_at.isoformat(),
            "price_cents": self.price_cents,
            "currency": self.currency,
            "location": self.location,
            "hold_expires_at": _iso(self.hold_expires_at),
            "refund_status": self.refund_status,
            "provider": {
                "id": str(self.provider_id),
                "business_name": self.business_name,
                "timezone": self.timezone,
            },
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def appointment_from_row(row: asyncpg.Record | dict[str, Any]) -> Appointment:
    values = dict(row)
    values["status"] = Status(values["status"])
    values["payment_status"] = PaymentStatus(values["payment_status"])
    return Appointment(**values)


@dataclass(frozen=True)
class LockedSlot:
    """A slot row held FOR UPDATE, with what deciding whether it can be booked needs."""

    id: UUID
    service_id: UUID
    starts_at: datetime
    booked: bool
    occupies_slot: bool
    service_active: bool
    price_cents: int
    currency: str
    stripe_account_id: str | None
    charges_enabled: bool
    # The service's minimum notice: a slot starting sooner than this from now is not bookable.
    min_notice_minutes: int = 0
    # The waitlist entry a free slot is held for (sql/0016); only that entry may book it.
    offered_to: UUID | None = None
    # A free slot overlapping one of the provider's busy times (sql/0018): not bookable.
    busy: bool = False


_LOCKED_SLOT_QUERY = f"""
    SELECT a.id, a.service_id, a.starts_at, a.booked, a.occupies_slot,
           s.is_active AS service_active, s.price_cents, s.currency,
           p.stripe_account_id, p.charges_enabled, s.min_notice_minutes,
           (SELECT offer.entry_id
              FROM waitlist_offers AS offer
             WHERE offer.slot_id = a.id) AS offered_to,
           NOT a.booked AND {busy("a")} AS busy
      FROM appointments AS a
      JOIN services AS s ON s.id = a.service_id
      JOIN providers AS p ON p.id = s.provider_id
"""


async def lock_slot(conn: asyncpg.Connection, slot_id: UUID) -> LockedSlot | None:
    """Lock one slot row for the rest of the transaction, waiting for any other claimant.

    After a concurrent claim commits, PostgreSQL re-reads the row, so the caller sees it booked.
    """
    row = await conn.fetchrow(
        f"""
        {_LOCKED_SLOT_QUERY}
         WHERE a.id = $1
           FOR UPDATE OF a
        """,
        slot_id,
    )
    return None if row is None else LockedSlot(**dict(row))


async def lock_first_free_slot(
    conn: asyncpg.Connection,
    service_id: UUID,
    day: date,
    now: datetime,
    *,
    skip_locked: bool = True,
) -> LockedSlot | None:
    """The day's earliest free slot past the service's minimum notice and not held for the
    waitlist, locked; slots other claimants hold are skipped, so concurrent queue-mode
    bookings each take the next token instead of queueing on one row. With
    `skip_locked=False` it waits for them instead."""
    wait = "SKIP LOCKED" if skip_locked else ""
    row = await conn.fetchrow(
        f"""
        {_LOCKED_SLOT_QUERY}
         WHERE a.service_id = $1
           AND a.slot_date = $2
           AND a.starts_at > $3::timestamptz + make_interval(mins => s.min_notice_minutes)
           AND NOT a.booked
           AND a.occupies_slot
           AND NOT {offered("a")}
           AND NOT {busy("a")}
         ORDER BY a.starts_at
         LIMIT 1
           FOR UPDATE OF a {wait}
        """,
        service_id,
        day,
        now,
    )
    return None if row is None else LockedSlot(**dict(row))


async def wait_for_slot_changes(conn: asyncpg.Connection, service_id: UUID) -> None:
    """Wait until no transaction is changing the service's slots (a regeneration, a top-up or
    a cancel's refill hold the service row's lock), and keep new ones off until this
    transaction ends. The next statement then sees what they committed."""
    await conn.execute(
        """
        SELECT id
          FROM services
         WHERE id = $1
           FOR SHARE
        """,
        service_id,
    )


async def select_appointment(conn: asyncpg.Connection, appointment_id: UUID) -> Appointment | None:
    """A booking (any status); None for an unknown id or a slot nobody booked."""
    row = await conn.fetchrow(
        f"""
        SELECT {APPOINTMENT_COLUMNS}
        {APPOINTMENT_FROM}
         WHERE a.id = $1
           AND a.booked
        """,
        appointment_id,
    )
    return None if row is None else appointment_from_row(row)


async def lock_appointment(conn: asyncpg.Connection, appointment_id: UUID) -> Appointment | None:
    """A booking locked FOR UPDATE: status moves on one appointment happen one at a time."""
    row = await conn.fetchrow(
        f"""
        SELECT {APPOINTMENT_COLUMNS}
        {APPOINTMENT_FROM}
         WHERE a.id = $1
           AND a.booked
           FOR UPDATE OF a
        """,
        appointment_id,
    )
    return None if row is None else appointment_from_row(row)


async def select_customer_appointments(
    conn: asyncpg.Connection, user_id: UUID, *, limit: int = 200
) -> list[Appointment]:
    """A signed-in customer's bookings, soonest first, upcoming ones before past ones."""
    rows = await conn.fetch(
        f"""
        SELECT {APPOINTMENT_COLUMNS}
        {APPOINTMENT_FROM}
         WHERE a.customer_user_id = $1
           AND a.booked
         ORDER BY a.starts_at < now(), a.starts_at
         LIMIT $2
        """,
        user_id,
        limit,
    )
    return [appointment_from_row(row) for row in rows]


async def set_status(conn: asyncpg.Connection, appointment_id: UUID, status: Status) -> None:
    """Move a locked booking to `status`. Leaving the slot (cancel, reject) ends any hold.
    Its calendar event changes with it (the .ics SEQUENCE grows)."""
    await conn.execute(
        """
        UPDATE appointments
           SET status = $2,
               ical_sequence = ical_sequence + 1,
               updated_at = clock_timestamp()
         WHERE id = $1
        """,
        appointment_id,
        status.value,
    )


async def insert_status_event(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    *,
    from_status: Status | None,
    to_status: Status,
    actor: str,
    actor_user_id: UUID | None,
    reason: str | None = None,
) -> None:
    """Append one line to the appointment's history (the table refuses edits and deletes)."""
    await conn.execute(
        """
        INSERT INTO appointment_events (appointment_id, from_status, to_status, actor,
                                        actor_user_id, reason)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        appointment_id,
        None if from_status is None else from_status.value,
        to_status.value,
        actor,
        actor_user_id,
        reason,
    )


async def set_checkout_session(
    conn: asyncpg.Connection, appointment_id: UUID, session_id: str
) -> None:
    await conn.execute(
        """
        UPDATE appointments
           SET stripe_checkout_session_id = $2,
               updated_at = clock_timestamp()
         WHERE id = $1
        """,
        appointment_id,
        session_id,
    )
