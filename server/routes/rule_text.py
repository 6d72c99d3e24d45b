"""A service's availability rules in plain words, as the pages say them.

static/js/rule-text.js words them the same way for the pages that change them live (the service
editor, the booking form); keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR


class HasRules(Protocol):
    """What the wording needs of a service (server.models.services.Service has it)."""

    @property
    def min_notice_minutes(self) -> int: ...
    @property
    def horizon_days(self) -> int | None: ...
    @property
    def buffer_minutes(self) -> int: ...
    @property
    def cancel_cutoff_minutes(self) -> int: ...


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def span_parts(minutes: int) -> tuple[int, str]:
    """The unit a person would use: 90 → (90, "minutes"), 1440 → (24, "hours"), 2880 → (2, "days").

    Whole days from two days on; a day is "24 hours", as cancellation policies say it."""
    if minutes >= 2 * MINUTES_PER_DAY and minutes % MINUTES_PER_DAY == 0:
        return minutes // MINUTES_PER_DAY, "days"
    if minutes >= MINUTES_PER_HOUR and minutes % MINUTES_PER_HOUR == 0:
        return minutes // MINUTES_PER_HOUR, "hours"
    return minutes, "minutes"


def span(minutes: int) -> str:
    """120 → "2 hours", 1440 → "24 hours", 2880 → "2 days", 1 → "1 minute"."""
    amount, unit = span_parts(minutes)
    return _count(amount, unit[:-1])


@dataclass(frozen=True)
class RuleTexts:
    """The sentences a customer reads where each rule bites; None where a rule is off."""

    notice: str | None
    horizon: str
    buffer: str | None
    cancellation: str
    # "24 hours": how long before the start free cancellation ends; None when until the start.
    cancel_span: str | None

    @classmethod
    def of(cls, service: HasRules, default_horizon_days: int) -> RuleTexts:
        notice = service.min_notice_minutes
        buffer = service.buffer_minutes
        cutoff = service.cancel_cutoff_minutes
        horizon = service.horizon_days or default_horizon_days
        return cls(
            notice=f"Book at least {span(notice)} ahead" if notice else None,
            horizon=f"Book up to {_count(horizon, 'day')} ahead",
            buffer=f"{span(buffer)} between clients" if buffer else None,
            cancellation=(
                f"Free cancellation until {span(cutoff)} before"
                if cutoff
                else "Free cancellation until the start"
            ),
            cancel_span=span(cutoff) if cutoff else None,
        )
