"""Moving a booking through its states (server.domain.appointments), one transaction per move.

Each move locks the appointment row, checks the move against the state machine, records it in
the append-only history, and, when the booking ends (cancel, reject), gives the time back as a
new free slot. What other processes must hear about (the slot watchers, the provider's sockets,
the worker) is collected in the result's `effects`, for the caller to run after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from server.domain.appointments import (
    EVENT_FOR_STATUS,
    FREES_SLOT,
    TRANSITIONS,
    InvalidTransition,
    Move,
    PaymentStatus,
    next_status,
)
from server.domain.cutoffs import check_customer_may_cancel, check_provider_may_cancel
from server.edge.errors import APIError
from server.models import appointments
from server.models.appointments import Appointment
from server.models.slots import Slot
from server.notifications.outbox import DELIVERY_JOB
from server.notifications.triggers import queue_move_notifications
from server.usecases.effects import Effects
from server.usecases.refunds import PROCESS_REFUNDS, request_refund_if_paid
from server.usecases.services import refill_day

Authorize = Callable[[Appointment], None]
# The worker job that closes the Checkout Sessions of unpaid bookings that ended.
EXPIRE_HOLDS_JOB = "expire_holds"


def appointment_not_found() -> APIError:
    return APIError(404, "appointment_not_found", "There is no such booking.")


def parse_appointment_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise appointment_not_found() from None


@dataclass(frozen=True)
class Actor:
    """Who asked for a move: "customer", "provider" or "system" (holds, payments)."""

    kind: str
    user_id: UUID | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MoveResult:
    before: Appointment
    after: Appointment
    freed: list[Slot] = field(default_factory=list)
    refund_requested: bool = False
    # What the caller runs after the commit (server.usecases.effects.run_effects).
    effects: Effects = field(default_factory=Effects)

    @property
    def released(self) -> Slot | None:
        """The booked row as a slot that is gone, when the move gave the time back."""
        if self.after.status not in FREES_SLOT:
            return None
        return _as_slot(self.after)


def _as_slot(appointment: Appointment) -> Slot:
    return Slot(
        id=appointment.id,
        service_id=appointment.service_id,
        slot_date=appointment.slot_date,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        token=appointment.token,
        booked=True,
    )


async def move_appointment(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    move: Move,
    *,
    actor: Actor,
    authorize: Authorize,
    now: datetime,
) -> MoveResult:
    """Apply `move` in one transaction; 404 when `authorize` refuses, 409 when not allowed
    (`invalid_transition`, or `too_late_to_cancel` past the cut-off for a customer and after
    the start for a provider). Run the result's `effects` after this returns.

    Moves that end the booking lock the service row before the appointment row, the same order
    a regeneration of the service's slots takes, so the two can never deadlock.
    """
    async with conn.transaction():
        if TRANSITIONS[move].target in FREES_SLOT:
            await _lock_service_of(conn, appointment_id)
        before = await appointments.lock_appointment(conn, appointment_id)
        if before is None:
            raise appointment_not_found()
        authorize(before)
        try:
            target = next_status(before.status, move, starts_at=before.starts_at, now=now)
        except InvalidTransition as error:
            raise APIError(409, "invalid_transition", str(error)) from None
        _check_in_time(before, move, actor, now)
        await appointments.set_status(conn, appointment_id, target)
        await appointments.insert_status_event(
            conn,
            appointment_id,
            from_status=before.status,
            to_status=target,
            actor=actor.kind,
            actor_user_id=actor.user_id,
            reason=actor.reason,
        )
        freed: list[Slot] = []
        if target in FREES_SLOT and before.starts_at > now:
            freed = await refill_day(conn, before.service_id, before.slot_date, now)
        after = await appointments.select_appointment(conn, appointment_id)
        assert after is not None
        await queue_move_notifications(conn, before, after, actor=actor.kind)
        refund_requested = await request_refund_if_paid(conn, before, after)
        if refund_requested:  # re-read, so the booking shows its refund under way
            after = await appointments.select_appointment(conn, appointment_id) or after
    result = MoveResult(before=before, after=after, freed=freed, refund_requested=refund_requested)
    _record_effects(result)
    return result


def _check_in_time(before: Appointment, move: Move, actor: Actor, now: datetime) -> None:
    """A cancel must come before the cut-off (customers) or the start (providers); the system
    (an expired hold, a payment that could not start) may always cancel."""
    if move is not Move.CANCEL:
        return
    if actor.kind == "customer":
        check_customer_may_cancel(before.starts_at, before.cancel_cutoff_minutes, now)
    elif actor.kind == "provider":
        check_provider_may_cancel(before.starts_at, now)


def _record_effects(result: MoveResult) -> None:
    """After commit: watchers of the service see the time come back, the provider is told,
    and the worker is nudged to send the move's messages and make the refund it requested."""
    after = result.after
    effects = result.effects
    released = result.released
    if released is not None:
        effects.slots_changed(
            after.service_id, after.zone, changed=result.freed, removed=[released]
        )
    effects.appointment_changed(after.provider_id, EVENT_FOR_STATUS[after.status], after.to_json())
    if result.refund_requested:
        effects.nudge(PROCESS_REFUNDS)
    if _ended_unpaid_checkout(result):
        effects.nudge(EXPIRE_HOLDS_JOB)  # so nobody can pay for it (the sweep would, later)
    effects.nudge(DELIVERY_JOB)


def _ended_unpaid_checkout(result: MoveResult) -> bool:
    return (
        result.released is not None
        and result.before.payment_status is PaymentStatus.AWAITING_PAYMENT
        and result.after.stripe_checkout_session_id is not None
    )


async def _lock_service_of(conn: asyncpg.Connection, appointment_id: UUID) -> None:
    await conn.execute(
        """
        SELECT s.id
          FROM services AS s
          JOIN appointments AS a ON a.service_id = s.id
         WHERE a.id = $1
           FOR UPDATE OF s
        """,
        appointment_id,
    )
