"""Booking a slot: claimed under a row lock in one short transaction, announced after commit.

A slot is a free row of `appointments`; booking it fills the row in. The claim takes the row's
lock (`SELECT … FOR UPDATE`), so of any number of concurrent requests for one slot exactly one
finds it free; queue mode takes the day's first free row with `SKIP LOCKED`, so concurrent
customers each get the next token instead of waiting on one row. The unique indexes and the
exclusion constraint on `appointments` stay the last line of defence.

Paying online happens after the commit (no Stripe call inside a transaction): the booking holds
its slot for HOLD_MINUTES while the customer pays; if Stripe cannot start the payment, the
booking is undone and the customer told so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from server.domain.appointments import EVENT_FOR_STATUS, Move, PaymentStatus
from server.domain.bookings import (
    CustomerDetails,
    hash_manage_key,
    manage_key_matches,
    new_manage_key,
)
from server.domain.rules import RuleBroken
from server.domain.slots import check_notice
from server.edge.errors import APIError
from server.infra.config import Config
from server.infra.metrics import BOOKING_RACES_LOST, BOOKINGS_CREATED
from server.models import appointments, idempotency, payments, slot_claims
from server.models.appointments import Appointment, LockedSlot
from server.models.availability import was_withdrawn
from server.models.booking_records import StoredAnswer, claim_and_record, record_booking
from server.models.reschedules import was_absorbed
from server.models.slot_claims import ClaimedSlot, FreeSlotClaim, NewBooking
from server.models.slots import Slot
from server.notifications.outbox import DELIVERY_JOB
from server.notifications.triggers import booking_received_emails
from server.payments.checkout import CheckoutUnavailable, start_checkout
from server.usecases.appointments import (
    Actor,
    MoveResult,
    appointment_not_found,
    move_appointment,
)
from server.usecases.effects import Effects
from server.usecases.waitlist_offers import take_offer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookingRequest:
    """Either a slot (`slot_id`), a service's day in queue mode (`service_id` and `day`), or
    the slot a waitlist entry was offered (`waitlist_entry_id`)."""

    customer: CustomerDetails
    slot_id: UUID | None = None
    service_id: UUID | None = None
    day: date | None = None
    waitlist_entry_id: UUID | None = None

    @property
    def mode(self) -> str:
        """How the slot is chosen: `slot`, `queue` or `waitlist` (a metric's label)."""
        if self.waitlist_entry_id is not None:
            return "waitlist"
        return "slot" if self.slot_id is not None else "queue"


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    request_hash: str


@dataclass(frozen=True)
class BookingOutcome:
    status: int
    body: dict[str, Any]
    # What the caller runs after `book` returns (server.usecases.effects.run_effects).
    effects: Effects = field(default_factory=Effects)
    # Set when the booking committed but then had to be undone (Stripe could not start the
    # payment): the caller runs `effects`, then raises this.
    error: APIError | None = None


class _Replay(Exception):
    """The Idempotency-Key already has an answer: leave the transaction and replay it."""

    def __init__(self, stored: dict[str, Any]) -> None:
        super().__init__("replay")
        self.stored = stored


@dataclass(frozen=True)
class Database:
    """The request's database connection, borrowed per step: `connection()` gives it (taking
    one from the pool if needed) and `release()` gives it back, so no pooled connection waits
    on Stripe, which can take seconds (and a slow Stripe must not starve every page)."""

    connection: Callable[[], Awaitable[asyncpg.Connection]]
    release: Callable[[], Awaitable[None]]


def request_hash(body: dict[str, Any]) -> str:
    """A fingerprint of a request body, the same for the same JSON whatever its key order."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS).hex()


def manage_url(base_url: str, appointment_id: UUID, manage_key: str) -> str:
    return f"{base_url}/bookings/{appointment_id}?key={manage_key}"


def booking_body(
    appointment: Appointment, *, base_url: str, manage_key: str, checkout_url: str | None
) -> dict[str, Any]:
    return {
        "appointment": appointment.to_json(),
        "checkout_url": checkout_url,
        "manage_url": manage_url(base_url, appointment.id, manage_key),
    }


async def book(
    database: Database,
    request: BookingRequest,
    *,
    customer_user_id: UUID | None,
    idempotency_key: IdempotencyKey | None,
    settings: Config,
    now: datetime,
) -> BookingOutcome:
    """Book a slot (or the day's next free one); 201 with the booking, or a replay of the first
    answer to the same Idempotency-Key. The caller runs the outcome's `effects` afterwards.

    Round trips are few. A free slot booked by id without an Idempotency-Key (the common
    case) is read, then claimed with all its records in one statement (no BEGIN/COMMIT).
    Otherwise one short transaction: the claim is one UPDATE that returns the booking, and the
    booking's history line, CalDAV push, e-mails, webhook deliveries and kept answer are one
    more statement.
    """
    scope = f"user:{customer_user_id}" if customer_user_id else "guest"
    manage_key = new_manage_key()
    claim = NewClaim(request.customer, customer_user_id, hash_manage_key(manage_key))
    conn = await database.connection()
    booked = None
    if request.slot_id is not None and idempotency_key is None:
        booked = await _book_free_slot_at_once(
            conn, request.slot_id, claim, manage_key, settings, now
        )
    try:
        if booked is None:
            booked = await _book_in_transaction(
                conn, request, claim, manage_key, scope, idempotency_key, settings, now
            )
    except _Replay as replay:
        return await _replay(database, replay.stored, settings)
    BOOKINGS_CREATED.labels(mode=request.mode).inc()
    appointment = booked.appointment
    effects = booking_effects(appointment, booked.body["appointment"])
    if appointment.payment_status is PaymentStatus.AWAITING_PAYMENT:
        assert booked.stripe_account_id is not None
        return await _attach_checkout(
            database, effects, appointment, manage_key, booked.stripe_account_id, settings, now
        )
    return BookingOutcome(201, booked.body, effects)


@dataclass(frozen=True)
class _Booked:
    """A booking committed: the row as booked, the answer's body, where a checkout pays."""

    appointment: Appointment
    body: dict[str, Any]
    stripe_account_id: str | None


async def _book_free_slot_at_once(
    conn: asyncpg.Connection,
    slot_id: UUID,
    claim: NewClaim,
    manage_key: str,
    settings: Config,
    now: datetime,
) -> _Booked | None:
    """The common case in two round trips and no explicit transaction: read the slot, make
    its booking's e-mails and answer, then claim it and write every record in one statement
    that does nothing unless the slot is still bookable and as read. None when it was not
    bookable or changed meanwhile: the caller books it the careful way (or says why not)."""
    slot = await slot_claims.select_bookable_slot(
        conn, slot_id, stripe_enabled=settings.stripe_enabled, now=now
    )
    if slot is None:
        return None
    appointment = slot_claims.booking_of(
        slot,
        _free_slot_claim(claim, settings, now),
        booked_at=datetime.now(UTC),
    )
    appointment_json = appointment.to_json()
    url = manage_url(settings.base_url, appointment.id, manage_key)
    emails = booking_received_emails(
        appointment, provider_email=slot.provider_email, manage_url=url, base_url=settings.base_url
    )
    claimed = await claim_and_record(
        conn,
        slot,
        appointment,
        appointment_json,
        stripe_enabled=settings.stripe_enabled,
        now=now,
        emails=emails,
    )
    if not claimed:
        return None
    body = {"appointment": appointment_json, "checkout_url": None, "manage_url": url}
    return _Booked(appointment, body, slot.stripe_account_id)


async def _book_in_transaction(
    conn: asyncpg.Connection,
    request: BookingRequest,
    claim: NewClaim,
    manage_key: str,
    scope: str,
    idempotency_key: IdempotencyKey | None,
    settings: Config,
    now: datetime,
) -> _Booked:
    """One transaction from the key's lock to the saved answer, so a concurrent duplicate
    waits and then replays (raising _Replay: nothing written, finish outside)."""
    async with conn.transaction():
        if idempotency_key is not None:
            stored = await _stored_answer(conn, scope, idempotency_key)
            if stored is not None:
                raise _Replay(stored)
        claimed = await _claim(conn, request, claim, settings, now)
        appointment = claimed.appointment
        appointment_json = appointment.to_json()
        url = manage_url(settings.base_url, appointment.id, manage_key)
        body = {"appointment": appointment_json, "checkout_url": None, "manage_url": url}
        await record_booking(
            conn,
            appointment,
            appointment_json,
            actor_user_id=claim.customer_user_id,
            emails=booking_received_emails(
                appointment,
                provider_email=claimed.provider_email,
                manage_url=url,
                base_url=settings.base_url,
            ),
            answer=None
            if idempotency_key is None
            else StoredAnswer(
                scope, idempotency_key.key, idempotency_key.request_hash, response=body
            ),
        )
    return _Booked(appointment, body, claimed.stripe_account_id)


async def _stored_answer(
    conn: asyncpg.Connection, scope: str, idempotency_key: IdempotencyKey
) -> dict[str, Any] | None:
    await idempotency.lock_key(conn, scope, idempotency_key.key)
    stored = await idempotency.select_response(conn, scope, idempotency_key.key)
    if stored is None:
        return None
    if stored.request_hash != idempotency_key.request_hash:
        raise APIError(
            422,
            "idempotency_key_reused",
            "That Idempotency-Key was already used for a different booking.",
        )
    return stored.response


@dataclass(frozen=True)
class NewClaim:
    """Who is booking: what the claimed row is filled in with."""

    customer: CustomerDetails
    customer_user_id: UUID | None
    manage_key_hash: str


async def _claim(
    conn: asyncpg.Connection,
    request: BookingRequest,
    claim: NewClaim,
    settings: Config,
    now: datetime,
) -> ClaimedSlot:
    try:
        if request.waitlist_entry_id is not None:
            # The offer ends in this transaction; the slot is then claimed like any other.
            slot_id = await take_offer(conn, request.waitlist_entry_id, now)
            return await _fill(conn, await _lock_slot(conn, slot_id, now), claim, settings, now)
        if request.slot_id is not None:
            return await _claim_slot(conn, request.slot_id, claim, settings, now)
        assert request.service_id is not None and request.day is not None
        slot = await _lock_first_free_slot(conn, request.service_id, request.day, now)
        return await _fill(conn, slot, claim, settings, now)
    except APIError as error:
        if error.code in ("slot_taken", "day_full"):
            BOOKING_RACES_LOST.labels(code=error.code).inc()
        raise


def _free_slot_claim(claim: NewClaim, settings: Config, now: datetime) -> FreeSlotClaim:
    """What a claim writes into a free slot: the customer, and a payment hold from `now`."""
    return FreeSlotClaim(
        customer=claim.customer,
        customer_user_id=claim.customer_user_id,
        manage_key_hash=claim.manage_key_hash,
        stripe_enabled=settings.stripe_enabled,
        hold_expires_at=now + timedelta(minutes=settings.hold_minutes),
    )


async def _claim_slot(
    conn: asyncpg.Connection, slot_id: UUID, claim: NewClaim, settings: Config, now: datetime
) -> ClaimedSlot:
    """The slot booked in one UPDATE when it is bookable; otherwise locked and looked at, to
    say why not (or, if what stood in the way has just gone, filled in after all)."""
    claimed = await slot_claims.claim_free_slot(
        conn,
        slot_id,
        _free_slot_claim(claim, settings, now),
        now,
    )
    if claimed is not None:
        return claimed
    return await _fill(conn, await _lock_slot(conn, slot_id, now), claim, settings, now)


async def _fill(
    conn: asyncpg.Connection, slot: LockedSlot, claim: NewClaim, settings: Config, now: datetime
) -> ClaimedSlot:
    """Fill in a slot locked and checked by the caller."""
    payment = _payment_status(slot, settings)
    hold = now + timedelta(minutes=settings.hold_minutes)
    return await slot_claims.book_slot(
        conn,
        slot.id,
        NewBooking(
            customer=claim.customer,
            customer_user_id=claim.customer_user_id,
            manage_key_hash=claim.manage_key_hash,
            payment_status=payment,
            price_cents=slot.price_cents,
            currency=slot.currency,
            hold_expires_at=hold if payment is PaymentStatus.AWAITING_PAYMENT else None,
        ),
    )


async def _lock_slot(conn: asyncpg.Connection, slot_id: UUID, now: datetime) -> LockedSlot:
    slot = await appointments.lock_slot(conn, slot_id)
    if slot is None:
        if await was_absorbed(conn, slot_id):
            raise slot_taken()  # a booking that moved took this time a moment ago
        if await was_withdrawn(conn, slot_id):
            # Time off or a date override took it away while the customer was looking.
            raise APIError(409, "slot_unavailable", "That time is no longer offered.")
        raise APIError(404, "slot_not_found", "There is no such slot.")
    if slot.booked or not slot.occupies_slot or slot.offered_to is not None:
        raise slot_taken()  # held for the waitlist counts as taken (its offer ends first)
    if slot.busy:
        # The provider is busy then in one of their own calendars (sql/0018).
        raise APIError(409, "slot_unavailable", "That time is no longer offered.")
    _check_bookable(slot, now)
    return slot


def slot_taken() -> APIError:
    return APIError(409, "slot_taken", "That slot was just booked by someone else.")


def _check_bookable(slot: LockedSlot, now: datetime) -> None:
    if not slot.service_active:
        raise APIError(409, "service_unavailable", "This service is no longer taking bookings.")
    if slot.starts_at <= now:
        raise APIError(409, "slot_in_past", "That time has already passed.")
    check_notice(slot.starts_at, now, slot.min_notice_minutes)


async def _lock_first_free_slot(
    conn: asyncpg.Connection, service_id: UUID, day: date, now: datetime
) -> LockedSlot:
    active: bool | None = await conn.fetchval(
        "SELECT is_active FROM services WHERE id = $1", service_id
    )
    if active is None:
        raise APIError(404, "service_not_found", "There is no such service.")
    if not active:
        raise APIError(409, "service_unavailable", "This service is no longer taking bookings.")
    slot = await appointments.lock_first_free_slot(conn, service_id, day, now)
    if slot is None:
        # Skipped rows may all be a regeneration's (deleted, their replacements not yet
        # visible): once it has committed, look once more, waiting on held rows this time.
        await appointments.wait_for_slot_changes(conn, service_id)
        slot = await appointments.lock_first_free_slot(
            conn, service_id, day, now, skip_locked=False
        )
    if slot is None:
        raise APIError(409, "day_full", "That day has no free times left.")
    return slot


def _payment_status(slot: LockedSlot, settings: Config) -> PaymentStatus:
    """Online payment when the service has a price, Stripe is set up here and the provider's
    account can take charges; otherwise the customer pays at the visit."""
    if (
        slot.price_cents > 0
        and settings.stripe_enabled
        and slot.stripe_account_id is not None
        and slot.charges_enabled
    ):
        return PaymentStatus.AWAITING_PAYMENT
    return PaymentStatus.PAY_AT_VISIT


def booking_effects(
    appointment: Appointment, appointment_json: dict[str, Any] | None = None
) -> Effects:
    """After commit: watchers see the slot go, the provider hears of the booking, and the
    worker sends the booking's messages."""
    effects = Effects()
    effects.slots_changed(
        appointment.service_id,
        appointment.zone,
        changed=[
            Slot(
                id=appointment.id,
                service_id=appointment.service_id,
                slot_date=appointment.slot_date,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                token=appointment.token,
                booked=True,
            )
        ],
    )
    effects.appointment_changed(
        appointment.provider_id,
        EVENT_FOR_STATUS[appointment.status],
        appointment_json if appointment_json is not None else appointment.to_json(),
    )
    effects.nudge(DELIVERY_JOB)
    return effects


async def _attach_checkout(
    database: Database,
    effects: Effects,
    appointment: Appointment,
    manage_key: str,
    destination_account: str,
    settings: Config,
    now: datetime,
) -> BookingOutcome:
    """Open a Stripe Checkout Session for the new booking, its connection given back to the
    pool meanwhile; undo the booking if Stripe can't (the undo's effects join `effects`)."""
    await database.release()
    try:
        checkout = await start_checkout(
            appointment,
            manage_url=manage_url(settings.base_url, appointment.id, manage_key),
            destination_account=destination_account,
            settings=settings,
        )
    except CheckoutUnavailable:
        conn = await database.connection()
        effects.add(await _undo_booking(conn, appointment, now))
        return BookingOutcome(409, {}, effects, error=_payments_unavailable())
    body = booking_body(
        appointment, base_url=settings.base_url, manage_key=manage_key, checkout_url=checkout.url
    )
    conn = await database.connection()
    async with conn.transaction():
        await payments.set_checkout(conn, appointment.id, checkout.session_id, checkout.url)
        await idempotency.update_response(conn, appointment.id, body)
    return BookingOutcome(201, body, effects)


def _payments_unavailable() -> APIError:
    return APIError(
        409,
        "payments_unavailable",
        "We couldn't start the payment just now, so nothing was booked. Please try again.",
    )


async def _replay(database: Database, stored: dict[str, Any], settings: Config) -> BookingOutcome:
    """The first answer to this Idempotency-Key again, with its Checkout URL.

    The first request stores its answer before it asks Stripe for the session, so a replay can
    find `checkout_url` still null (the first request is talking to Stripe, or was cut off):
    then the URL comes from the booking, or from Stripe again under the same idempotency key,
    which gives back the first request's session rather than a second one.
    """
    if stored.get("checkout_url") is not None:
        return BookingOutcome(201, stored)
    appointment_id = UUID(stored["appointment"]["id"])
    conn = await database.connection()
    record = await payments.select_checkout(conn, appointment_id)
    if record is None or not record.awaiting_payment:
        return BookingOutcome(201, stored)  # paid at the visit (or the booking moved on)
    if record.checkout_url is not None:
        return BookingOutcome(201, {**stored, "checkout_url": record.checkout_url})
    appointment = await appointments.select_appointment(conn, appointment_id)
    if not record.live or record.stripe_account_id is None or appointment is None:
        return BookingOutcome(409, {}, error=_payments_unavailable())
    await database.release()
    try:
        checkout = await start_checkout(
            appointment,
            manage_url=stored["manage_url"],
            destination_account=record.stripe_account_id,
            settings=settings,
        )
    except CheckoutUnavailable:
        return BookingOutcome(409, {}, error=_payments_unavailable())
    body = {**stored, "checkout_url": checkout.url}
    conn = await database.connection()
    async with conn.transaction():
        await payments.set_checkout(conn, appointment_id, checkout.session_id, checkout.url)
        await idempotency.update_response(conn, appointment_id, body)
    return BookingOutcome(201, body)


async def _undo_booking(
    conn: asyncpg.Connection, appointment: Appointment, now: datetime
) -> Effects:
    try:
        result = await move_appointment(
            conn,
            appointment.id,
            Move.CANCEL,
            actor=Actor("system", reason="payment could not be started"),
            authorize=lambda _: None,
            now=now,
        )
    except (APIError, RuleBroken):  # it ended meanwhile (a provider's reject, say)
        return Effects()
    finally:
        await idempotency.delete_for_appointment(conn, appointment.id)
    return result.effects


# --- Reading and cancelling one's own booking ---------------------------------------------------


def customer_may_manage(
    appointment: Appointment, *, manage_key: str | None, user_id: UUID | None
) -> bool:
    """The booking's customer: the holder of its manage key, or the account that booked it."""
    if user_id is not None and appointment.customer_user_id == user_id:
        return True
    return manage_key_matches(manage_key, appointment.manage_key_hash)


async def get_booking(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    *,
    manage_key: str | None,
    user_id: UUID | None,
) -> Appointment:
    """The customer's own booking; anyone else is told there is no such booking."""
    appointment = await appointments.select_appointment(conn, appointment_id)
    if appointment is None or not customer_may_manage(
        appointment, manage_key=manage_key, user_id=user_id
    ):
        raise appointment_not_found()
    return appointment


async def cancel_booking(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    *,
    manage_key: str | None,
    user_id: UUID | None,
    now: datetime,
) -> MoveResult:
    """The customer cancels: the booking stays on record as CANCELLED and its time is offered
    again as a new free slot; a paid booking is refunded by the worker once the caller runs
    the result's `effects`. From the service's cut-off on: 409 `too_late_to_cancel`."""

    def authorize(appointment: Appointment) -> None:
        if not customer_may_manage(appointment, manage_key=manage_key, user_id=user_id):
            raise appointment_not_found()

    return await move_appointment(
        conn,
        appointment_id,
        Move.CANCEL,
        actor=Actor("customer", user_id=user_id),
        authorize=authorize,
        now=now,
    )
