"""Moving a booking to another time of its service, by its customer or its provider.

The booking keeps its row, so its id, manage link, payment and history stay; it takes the free
row's time and token, and that free row is absorbed (deleted). Everything happens in one
transaction, with the locks in a fixed order: the service row first (as a cancel and a
regeneration take it), then the booking's row and the target slot's row in id order. So two
moves in opposite directions, or a move and a cancel, queue instead of deadlocking; a booking
aimed at the same slot takes only the slot's row, and of the two exactly one finds it free.

The old time is offered again through the same refill a cancel uses (server.usecases.services
.refill_day). What other processes must hear comes back as `effects` for the caller to run
after the commit: watchers see both times change, the provider's sockets hear `rescheduled`
with the previous times, and the worker sends the two e-mails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.domain.reschedules import (
    CUSTOMER,
    PROVIDER,
    check_movable,
    check_still_in_time,
    check_target,
    status_after_move,
)
from server.edge.errors import APIError
from server.models import appointments, reschedules
from server.models.appointments import Appointment, LockedSlot
from server.models.availability import was_withdrawn
from server.models.providers import Provider
from server.models.reschedules import MoveRecord, NewTime
from server.models.slots import Slot
from server.notifications.outbox import DELIVERY_JOB
from server.notifications.triggers import queue_reschedule_notifications
from server.usecases.appointments import Actor, appointment_not_found
from server.usecases.bookings import customer_may_manage
from server.usecases.effects import Effects
from server.usecases.services import refill_day

Authorize = Callable[[Appointment], None]
RESCHEDULED_EVENT = "rescheduled"
# A deadlock PostgreSQL still reports (the fixed lock order should leave none) is retried this
# many times, then answered 409: never a 500 for two people changing the same times.
DEADLOCK_RETRIES = 1


@dataclass(frozen=True)
class RescheduleResult:
    before: Appointment
    after: Appointment
    # Fresh free rows the old time came back as (none when the hours no longer offer it).
    freed: list[Slot] = field(default_factory=list)
    # The free row the booking took the place of.
    absorbed: Slot | None = None
    effects: Effects = field(default_factory=Effects)

    @property
    def previous(self) -> dict[str, Any]:
        """The times the booking had, as the provider socket's `previous` says them."""
        zone = self.before.zone
        return {
            "start_time": self.before.starts_at.astimezone(zone).isoformat(),
            "end_time": self.before.ends_at.astimezone(zone).isoformat(),
        }


async def reschedule(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    slot_id: UUID,
    *,
    actor: Actor,
    authorize: Authorize,
    now: datetime,
) -> RescheduleResult:
    """Move the booking to slot `slot_id` of the same service in one transaction; run the
    result's `effects` after this returns.

    404 `appointment_not_found` when `authorize` refuses; 409 `invalid_transition` unless it
    is PENDING or CONFIRMED; 409 `too_late_to_reschedule` past the customer's cut-off (or,
    for anyone, once it started); 404 `slot_not_found`, 409 `slot_unavailable` (withdrawn),
    422 `other_service`, 409 `slot_taken`, 409 `too_late_to_book` for the new time.
    """
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            result = await _reschedule_once(
                conn, appointment_id, slot_id, actor=actor, authorize=authorize, now=now
            )
        except asyncpg.DeadlockDetectedError:
            if attempt < DEADLOCK_RETRIES:
                continue
            raise _moved_meanwhile() from None
        except (asyncpg.UniqueViolationError, asyncpg.ExclusionViolationError):
            # The constraints caught what the locks should have: someone else has that time.
            raise _slot_taken() from None
        except asyncpg.ForeignKeyViolationError:
            # The free row is referenced elsewhere (held for someone): it is not free to take.
            raise _slot_taken() from None
        _record_effects(result)
        return result
    raise AssertionError("unreachable")


async def _reschedule_once(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    slot_id: UUID,
    *,
    actor: Actor,
    authorize: Authorize,
    now: datetime,
) -> RescheduleResult:
    async with conn.transaction():
        if not await reschedules.lock_service_of_appointment(conn, appointment_id):
            raise appointment_not_found()
        await reschedules.lock_rows_in_order(conn, [appointment_id, slot_id])
        before = await appointments.lock_appointment(conn, appointment_id)
        if before is None:
            raise appointment_not_found()
        authorize(before)
        check_movable(before.status)
        check_still_in_time(actor.kind, before.starts_at, before.cancel_cutoff_minutes, now)
        target = await _lock_target(conn, slot_id, before, now)
        absorbed = await reschedules.delete_free_slot(conn, target.id)
        if absorbed is None:
            raise _slot_taken()
        await reschedules.record_absorbed(conn, absorbed, before.id, now)
        status = status_after_move(actor.kind, before.status)
        await reschedules.move_booking(conn, before.id, _new_time(absorbed), status)
        await reschedules.insert_move_event(
            conn,
            MoveRecord(
                appointment_id=before.id,
                from_status=before.status,
                to_status=status,
                actor=actor.kind,
                actor_user_id=actor.user_id,
                moved_from=(before.starts_at, before.ends_at),
                moved_to=(absorbed.starts_at, absorbed.ends_at),
            ),
        )
        freed = await refill_day(conn, before.service_id, before.slot_date, now)
        after = await appointments.select_appointment(conn, before.id)
        assert after is not None
        await queue_reschedule_notifications(conn, before, after, actor=actor.kind)
    return RescheduleResult(before=before, after=after, freed=freed, absorbed=absorbed)


async def _lock_target(
    conn: asyncpg.Connection, slot_id: UUID, booking: Appointment, now: datetime
) -> LockedSlot:
    """The slot the booking moves to, already locked (lock_rows_in_order), checked."""
    slot = await appointments.lock_slot(conn, slot_id)
    if slot is None:
        if await reschedules.was_absorbed(conn, slot_id):
            raise _slot_taken()  # another booking moved there a moment ago
        if await was_withdrawn(conn, slot_id):
            raise APIError(409, "slot_unavailable", "That time is no longer offered.")
        raise APIError(404, "slot_not_found", "There is no such slot.")
    check_target(
        booking_service_id=booking.service_id,
        slot_service_id=slot.service_id,
        # A slot held for someone on the waitlist is theirs until the offer ends.
        slot_free=not slot.booked and slot.occupies_slot and slot.offered_to is None,
        slot_starts_at=slot.starts_at,
        min_notice_minutes=slot.min_notice_minutes,
        now=now,
    )
    if not slot.service_active:
        raise APIError(409, "service_unavailable", "This service is no longer taking bookings.")
    if slot.busy:
        # The provider is busy then in one of their own calendars (sql/0018), as a booking finds.
        raise APIError(409, "slot_unavailable", "That time is no longer offered.")
    return slot


def _new_time(slot: Slot) -> NewTime:
    return NewTime(
        slot_date=slot.slot_date, starts_at=slot.starts_at, ends_at=slot.ends_at, token=slot.token
    )


def _slot_taken() -> APIError:
    return APIError(409, "slot_taken", "That slot was just booked by someone else.")


def _moved_meanwhile() -> APIError:
    return APIError(
        409,
        "slot_taken",
        "Those times were being changed by someone else just now. Please choose again.",
    )


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


def _record_effects(result: RescheduleResult) -> None:
    """After commit: watchers see the old time go (or come back free) and the new one taken,
    the provider hears `rescheduled` with the previous times, the worker sends the e-mails."""
    after = result.after
    removed = [_as_slot(result.before)]
    if result.absorbed is not None:
        removed.append(result.absorbed)
    result.effects.slots_changed(
        after.service_id, after.zone, changed=[_as_slot(after), *result.freed], removed=removed
    )
    result.effects.appointment_changed(
        after.provider_id, RESCHEDULED_EVENT, after.to_json(), previous=result.previous
    )
    result.effects.nudge(DELIVERY_JOB)


# --- Who may move it ---------------------------------------------------------------------------


async def reschedule_as_customer(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    slot_id: UUID,
    *,
    manage_key: str | None,
    user_id: UUID | None,
    now: datetime,
) -> RescheduleResult:
    """The customer (manage key, or the account that booked) moves their booking: it waits
    for the provider to confirm the new time (PENDING), until the service's cut-off."""

    def authorize(appointment: Appointment) -> None:
        if not customer_may_manage(appointment, manage_key=manage_key, user_id=user_id):
            raise appointment_not_found()

    return await reschedule(
        conn,
        appointment_id,
        slot_id,
        actor=Actor(CUSTOMER, user_id=user_id),
        authorize=authorize,
        now=now,
    )


async def reschedule_as_provider(
    conn: asyncpg.Connection,
    provider: Provider,
    appointment_id: UUID,
    slot_id: UUID,
    *,
    now: datetime,
) -> RescheduleResult:
    """The provider moves one of their bookings (its status stays), until it starts. Another
    provider's booking is reported as not there, like an unknown id."""

    def authorize(appointment: Appointment) -> None:
        if appointment.provider_id != provider.id:
            raise appointment_not_found()

    return await reschedule(
        conn,
        appointment_id,
        slot_id,
        actor=Actor(PROVIDER, user_id=provider.user_id),
        authorize=authorize,
        now=now,
    )
