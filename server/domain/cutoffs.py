"""Until when a booking may still be changed: the service's cancel cut-off. No I/O.

A customer may cancel (or reschedule) until `start - cancel_cutoff_minutes`, and never once the
appointment has started, whatever the cut-off; a provider may cancel until the start (after
it, complete or no-show say what happened). Past that, a cancel would refund a visit that took
place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain.rules import RuleBroken

TOO_LATE_TO_CANCEL = "too_late_to_cancel"
TOO_LATE_TO_RESCHEDULE = "too_late_to_reschedule"


def customer_change_deadline(starts_at: datetime, cancel_cutoff_minutes: int) -> datetime:
    """The last moment a customer may cancel or reschedule (never after the start)."""
    return starts_at - timedelta(minutes=max(cancel_cutoff_minutes, 0))


def customer_may_change(starts_at: datetime, cancel_cutoff_minutes: int, now: datetime) -> bool:
    return now < customer_change_deadline(starts_at, cancel_cutoff_minutes)


def check_customer_may_cancel(
    starts_at: datetime, cancel_cutoff_minutes: int, now: datetime
) -> None:
    """RuleBroken `too_late_to_cancel` once the customer's cut-off (or the start) has passed."""
    if not customer_may_change(starts_at, cancel_cutoff_minutes, now):
        raise RuleBroken(TOO_LATE_TO_CANCEL, _too_late("cancelled", cancel_cutoff_minutes))


def check_customer_may_reschedule(
    starts_at: datetime, cancel_cutoff_minutes: int, now: datetime
) -> None:
    """RuleBroken `too_late_to_reschedule` once the customer's cut-off (or the start) passed."""
    if not customer_may_change(starts_at, cancel_cutoff_minutes, now):
        raise RuleBroken(TOO_LATE_TO_RESCHEDULE, _too_late("moved", cancel_cutoff_minutes))


def check_provider_may_cancel(starts_at: datetime, now: datetime) -> None:
    """RuleBroken `too_late_to_cancel` once the appointment has started."""
    if now >= starts_at:
        raise RuleBroken(
            TOO_LATE_TO_CANCEL,
            "This appointment has started, so it can't be cancelled: mark it completed or a "
            "no-show instead.",
        )


def _too_late(done: str, cancel_cutoff_minutes: int) -> str:
    if cancel_cutoff_minutes <= 0:
        return f"This booking has started, so it can no longer be {done}."
    return (
        f"This booking can no longer be {done}: changes close {_duration(cancel_cutoff_minutes)} "
        "before the start. Please contact the provider."
    )


def _duration(minutes: int) -> str:
    if minutes % 1440 == 0:
        return _plural(minutes // 1440, "day")
    if minutes % 60 == 0:
        return _plural(minutes // 60, "hour")
    return _plural(minutes, "minute")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
