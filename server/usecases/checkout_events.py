"""What a Checkout Session's outcome does to a booking: paid, still processing, or not paid.

The outcome comes from Stripe's events (server.usecases.webhook_events, inside the transaction
that records the event id, so each takes effect once) or from the hold sweep asking Stripe
directly (server.usecases.holds). Each step is also a no-op when the booking is already where
the outcome leads, so an outcome about a booking that moved on changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from server.domain.appointments import FREES_SLOT, Move, PaymentStatus, Status
from server.domain.rules import RuleBroken
from server.edge.errors import APIError
from server.infra.metrics import HOLDS_EXPIRED, PAYMENTS_RECORDED
from server.models import appointments, payments, refunds
from server.models.appointments import Appointment
from server.notifications.outbox import DELIVERY_JOB, release_held
from server.usecases.appointments import Actor, move_appointment
from server.usecases.effects import Effects
from server.usecases.refunds import PROCESS_REFUNDS
from server.webhooks.events import queue_webhook_event

log = logging.getLogger(__name__)

EventObject = dict[str, Any]
PAID_EVENT = "paid"
HOLD_EXPIRED_REASON = "payment not completed"
# A delayed payment (SEPA, ACH, Bacs…) takes days; the hold is kept meanwhile, and if no event
# settled it, the sweep asks Stripe again this long after it last did.
PROCESSING_RECHECK = timedelta(hours=1)
PAID_STATUSES = ("paid", "no_payment_required")


def appointment_id_of(session: EventObject) -> UUID | None:
    """The booking a Checkout Session is for: its metadata, else its client reference."""
    metadata = session.get("metadata") or {}
    for candidate in (metadata.get("appointment_id"), session.get("client_reference_id")):
        if isinstance(candidate, str):
            try:
                return UUID(candidate)
            except ValueError:
                continue
    return None


def _object_id(value: object) -> str | None:
    """An id field that may arrive as the id or, expanded, as the object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


# --- Outcomes, whoever learnt them -------------------------------------------------------------


async def record_payment(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    payment_intent: str | None,
    effects: Effects,
) -> None:
    """The customer paid: the booking is paid and its hold ends. Paid too late, after the hold
    ran out or the booking was cancelled, it stays cancelled and the money goes back. What to
    announce after the commit joins `effects`."""
    booking = await appointments.lock_appointment(conn, appointment_id)
    if booking is None:
        log.error("a payment for %s, which is no known booking", appointment_id)
        return
    if not await payments.mark_paid(conn, booking.id, payment_intent):
        return  # already paid (or refunded): nothing left to do
    await payments.mark_checkout_closed(conn, booking.id)
    if booking.status in FREES_SLOT:
        if await _refund_late_payment(conn, booking, payment_intent):
            effects.nudge(PROCESS_REFUNDS)
        return
    # The e-mails held back until payment ("received", "new booking") may go now.
    await release_held(conn, booking.id)
    paid = await appointments.select_appointment(conn, booking.id)
    assert paid is not None
    await queue_webhook_event(conn, paid, "booking.paid")
    effects.count(PAYMENTS_RECORDED)
    effects.appointment_changed(paid.provider_id, PAID_EVENT, paid.to_json())
    effects.nudge(DELIVERY_JOB)


async def _refund_late_payment(
    conn: asyncpg.Connection, booking: Appointment, payment_intent: str | None
) -> bool:
    log.warning("booking %s was paid after it ended (%s); refunding", booking.id, booking.status)
    if payment_intent is None:
        log.error("late payment for %s names no payment intent to refund", booking.id)
        return False
    return await refunds.insert_refund_request(conn, booking.id, payment_intent)


class HoldNotOpen(Exception):
    """The booking is paid (or otherwise no longer an unpaid hold) by the time it is locked."""


def _still_unpaid(before: Appointment) -> None:
    if before.payment_status is not PaymentStatus.AWAITING_PAYMENT:
        raise HoldNotOpen(str(before.id))


async def release_hold(
    conn: asyncpg.Connection, appointment_id: UUID, effects: Effects, *, now: datetime
) -> bool:
    """Cancel an unpaid booking to free its slot (its announcements join `effects`); False
    when it was paid or ended meanwhile.

    Re-checked under the row lock, so a payment recorded a moment earlier always wins. Only
    called once its Checkout Session can no longer be paid (expired, or its payment failed).
    """
    try:
        result = await move_appointment(
            conn,
            appointment_id,
            Move.CANCEL,
            actor=Actor("system", reason=HOLD_EXPIRED_REASON),
            authorize=_still_unpaid,
            now=now,
        )
    except (HoldNotOpen, APIError, RuleBroken):
        return False
    await payments.mark_checkout_closed(conn, appointment_id)
    effects.add(result.effects)
    effects.count(HOLDS_EXPIRED)
    return True


async def keep_processing_hold(
    conn: asyncpg.Connection, appointment_id: UUID, *, now: datetime
) -> bool:
    """A delayed payment is under way: the hold stays until Stripe says how it ended."""
    kept = await payments.mark_payment_processing(conn, appointment_id, now + PROCESSING_RECHECK)
    if kept:
        log.info("booking %s: delayed payment processing, hold kept", appointment_id)
    return kept


# --- Stripe's events ---------------------------------------------------------------------------


async def checkout_session_completed(
    conn: asyncpg.Connection, session: EventObject, effects: Effects
) -> None:
    """The customer finished Checkout: paid now, or (a delayed method) paid in a few days."""
    appointment_id = appointment_id_of(session)
    if appointment_id is None:
        log.error("Checkout Session %s completed for no known booking", session.get("id"))
        return
    if session.get("payment_status") in PAID_STATUSES:
        payment_intent = _object_id(session.get("payment_intent"))
        await record_payment(conn, appointment_id, payment_intent, effects)
        return
    booking = await appointments.select_appointment(conn, appointment_id)
    if booking is not None and _holds_for_session(booking, session):
        await keep_processing_hold(conn, appointment_id, now=datetime.now(UTC))


async def async_payment_succeeded(
    conn: asyncpg.Connection, session: EventObject, effects: Effects
) -> None:
    """A delayed payment arrived: the booking is paid (or refunded, if it ended meanwhile)."""
    appointment_id = appointment_id_of(session)
    if appointment_id is None:
        log.error("Checkout Session %s paid for no known booking", session.get("id"))
        return
    await record_payment(conn, appointment_id, _object_id(session.get("payment_intent")), effects)


async def checkout_session_expired(
    conn: asyncpg.Connection, session: EventObject, effects: Effects
) -> None:
    """The customer can no longer pay (the session expired, or its delayed payment failed):
    free the slot the unpaid booking held."""
    appointment_id = appointment_id_of(session)
    booking = (
        None
        if appointment_id is None
        else await appointments.select_appointment(conn, appointment_id)
    )
    if booking is None:
        return
    if not _holds_for_session(booking, session):
        if booking.stripe_checkout_session_id == session.get("id"):
            await payments.mark_checkout_closed(conn, booking.id)
        return
    await release_hold(conn, booking.id, effects, now=datetime.now(UTC))


def _holds_for_session(booking: Appointment, session: EventObject) -> bool:
    """An unpaid live booking whose current session is this one (not an older one)."""
    return (
        booking.payment_status is PaymentStatus.AWAITING_PAYMENT
        and booking.status in (Status.PENDING, Status.CONFIRMED)
        and booking.stripe_checkout_session_id in (None, session.get("id"))
    )


async def charge_refunded(conn: asyncpg.Connection, charge: EventObject, effects: Effects) -> None:
    """A charge was refunded in full (by us or from Stripe's dashboard): the booking says so."""
    payment_intent = _object_id(charge.get("payment_intent"))
    if charge.get("refunded") is not True or payment_intent is None:
        return  # a partial refund leaves the booking paid
    appointment_id = await payments.select_appointment_id_by_payment_intent(conn, payment_intent)
    if appointment_id is None:
        log.info("charge.refunded for %s, which no booking has", payment_intent)
        return
    refund_id = _latest_refund_id(charge)
    await refunds.insert_succeeded_refund(conn, appointment_id, payment_intent, refund_id)
    await refunds.mark_refund_succeeded(conn, appointment_id, refund_id)
    await payments.mark_refunded(conn, appointment_id)


def _latest_refund_id(charge: EventObject) -> str | None:
    listed = (charge.get("refunds") or {}).get("data") or []
    return _object_id(listed[0]) if listed else None
