"""The appointment state machine: which moves are allowed from which status. No I/O.

    PENDING ──confirm──▶ CONFIRMED ──complete──▶ COMPLETED   (once the start has passed)
       │  └──reject──▶ REJECTED   │  └──no_show──▶ NO_SHOW     (once the start has passed)
       └──────cancel──────────────┴──cancel──▶ CANCELLED

Rejecting or cancelling ends the booking and frees its slot; nothing leaves a final status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


class Move(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    CANCEL = "cancel"
    COMPLETE = "complete"
    NO_SHOW = "no-show"


class PaymentStatus(StrEnum):
    PAY_AT_VISIT = "pay_at_visit"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status
    # Completing or marking a no-show only makes sense once the appointment has begun.
    needs_started: bool = False


TRANSITIONS: dict[Move, Transition] = {
    Move.CONFIRM: Transition(frozenset({Status.PENDING}), Status.CONFIRMED),
    Move.REJECT: Transition(frozenset({Status.PENDING}), Status.REJECTED),
    Move.CANCEL: Transition(frozenset({Status.PENDING, Status.CONFIRMED}), Status.CANCELLED),
    Move.COMPLETE: Transition(frozenset({Status.CONFIRMED}), Status.COMPLETED, True),
    Move.NO_SHOW: Transition(frozenset({Status.CONFIRMED}), Status.NO_SHOW, True),
}

# Statuses after which the slot is free for someone else.
FREES_SLOT = frozenset({Status.REJECTED, Status.CANCELLED})
FINAL = frozenset({Status.REJECTED, Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW})

# The `event` of a /ws/provider message announcing that an appointment reached a status.
EVENT_FOR_STATUS: dict[Status, str] = {
    Status.PENDING: "booked",
    Status.CONFIRMED: "confirmed",
    Status.REJECTED: "rejected",
    Status.CANCELLED: "cancelled",
    Status.COMPLETED: "completed",
    Status.NO_SHOW: "no_show",
}


class InvalidTransition(Exception):
    """The move is not allowed from the appointment's current status (or not yet)."""

    def __init__(self, move: Move, current: Status, *, too_early: bool = False) -> None:
        self.move = move
        self.current = current
        self.too_early = too_early
        if too_early:
            message = f"You can {move.value.replace('-', ' ')} an appointment once it has started."
        else:
            message = (
                f"A {current.value.lower().replace('_', '-')} appointment can't be {_past(move)}."
            )
        super().__init__(message)


def _past(move: Move) -> str:
    return {
        Move.CONFIRM: "confirmed",
        Move.REJECT: "rejected",
        Move.CANCEL: "cancelled",
        Move.COMPLETE: "completed",
        Move.NO_SHOW: "marked as a no-show",
    }[move]


def next_status(current: Status, move: Move, *, starts_at: datetime, now: datetime) -> Status:
    """The status `move` leads to from `current`, or InvalidTransition."""
    transition = TRANSITIONS[move]
    if current not in transition.sources:
        raise InvalidTransition(move, current)
    if transition.needs_started and now < starts_at:
        raise InvalidTransition(move, current, too_early=True)
    return transition.target
