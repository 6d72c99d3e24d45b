"""Whether a booking may move to another time, and the status it has there. No I/O.

A booking moves while it is PENDING or CONFIRMED. A customer may move it until the service's
cut-off before its current start (the same deadline as cancelling); a provider until it
starts. The new time must be a free slot of the same service, past the minimum notice. A
customer's move asks the provider to confirm the new time (PENDING again); a provider's move
keeps the status it had.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from server.domain.appointments import Status
from server.domain.cutoffs import TOO_LATE_TO_RESCHEDULE, check_customer_may_reschedule
from server.domain.rules import RuleBroken
from server.domain.slots import check_notice

MOVABLE = frozenset({Status.PENDING, Status.CONFIRMED})
CUSTOMER = "customer"
PROVIDER = "provider"


def check_movable(status: Status) -> None:
    """RuleBroken `invalid_transition` unless the booking is PENDING or CONFIRMED."""
    if status not in MOVABLE:
        label = status.value.lower().replace("_", "-")
        raise RuleBroken("invalid_transition", f"A {label} appointment can't be rescheduled.")


def check_still_in_time(
    actor: str, starts_at: datetime, cancel_cutoff_minutes: int, now: datetime
) -> None:
    """RuleBroken `too_late_to_reschedule`: a customer past the cut-off, anyone once started."""
    if actor == CUSTOMER:
        check_customer_may_reschedule(starts_at, cancel_cutoff_minutes, now)
    elif now >= starts_at:
        raise RuleBroken(
            TOO_LATE_TO_RESCHEDULE, "This appointment has started, so it can't be moved."
        )


def check_target(
    *,
    booking_service_id: UUID,
    slot_service_id: UUID,
    slot_free: bool,
    slot_starts_at: datetime,
    min_notice_minutes: int,
    now: datetime,
) -> None:
    """The new time: a slot of the same service (422 `other_service`), free (409
    `slot_taken`) and far enough ahead (409 `too_late_to_book`)."""
    if slot_service_id != booking_service_id:
        raise RuleBroken(
            "other_service",
            "A booking can only move to another time of the same service.",
            fields={"slot_id": "A slot of this booking's service."},
        )
    if not slot_free:
        raise RuleBroken("slot_taken", "That slot was just booked by someone else.")
    check_notice(slot_starts_at, now, min_notice_minutes)


def status_after_move(actor: str, current: Status) -> Status:
    """A customer's move waits for the provider to confirm the new time again."""
    return Status.PENDING if actor == CUSTOMER else current
