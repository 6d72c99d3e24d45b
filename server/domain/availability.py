"""Rules for date overrides and time off: reading what a provider sends, and telling which
bookings the new hours leave out. No I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from server.domain.hours import HoursError, Interval, parse_intervals
from server.domain.rules import RuleBroken
from server.domain.slots import Closure, wall_time

T = TypeVar("T")

# How far ahead an override may be set: past any service's horizon, short of nonsense.
MAX_OVERRIDE_DAYS_AHEAD = 730
MAX_REASON_LENGTH = 500
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# YYYY-MM-DDTHH:MM[:SS[.ffffff]] and an optional Z or ±HH:MM offset.
_ISO_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _strict_iso(form: re.Pattern[str], raw: str, parse: Callable[[str], T]) -> T | None:
    """`raw` parsed if it has exactly the documented form (fromisoformat alone accepts more,
    e.g. week dates and compact forms), else None."""
    if not form.fullmatch(raw):
        return None
    try:
        return parse(raw)
    except ValueError:
        return None


def parse_override_date(raw: str, today: date) -> date:
    """The date of an override: YYYY-MM-DD, from today (provider-local) up to two years on."""
    day = _strict_iso(_ISO_DAY, raw, date.fromisoformat)
    if day is None:
        raise RuleBroken(
            "invalid_date",
            "The date must look like 2026-11-24.",
            fields={"date": "A date in the form YYYY-MM-DD."},
        )
    if day < today:
        raise RuleBroken(
            "invalid_date", "That date has passed.", fields={"date": "Today or later."}
        )
    if day > today + timedelta(days=MAX_OVERRIDE_DAYS_AHEAD):
        raise RuleBroken(
            "invalid_date",
            "That date is too far ahead.",
            fields={"date": f"At most {MAX_OVERRIDE_DAYS_AHEAD} days from today."},
        )
    return day


def parse_override_hours(raw: object) -> tuple[Interval, ...]:
    """A date's intervals, `[]` for closed; 422 naming each bad interval."""
    try:
        return parse_intervals(raw)
    except HoursError as error:
        raise RuleBroken(
            "validation_error", "Some hours are invalid.", fields=error.fields
        ) from None


def parse_moment(raw: str, zone: ZoneInfo, field: str) -> datetime:
    """An ISO date-time; without an offset it is a wall-clock time in the provider's zone."""
    moment = _strict_iso(_ISO_MOMENT, raw, datetime.fromisoformat)
    if moment is None:
        raise RuleBroken(
            "validation_error",
            f"{field} must be a date and time like 2026-12-24T09:00.",
            fields={field: "An ISO 8601 date-time, e.g. 2026-12-24T09:00 or …T09:00+01:00."},
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_time_off(
    raw_starts: str, raw_ends: str, reason: str | None, zone: ZoneInfo
) -> tuple[Closure, str | None]:
    """The span of a time off and its cleaned reason; 422 when it ends before it starts."""
    starts_at = parse_moment(raw_starts, zone, "starts_at")
    ends_at = parse_moment(raw_ends, zone, "ends_at")
    if ends_at <= starts_at:
        raise RuleBroken(
            "validation_error",
            "The time off must end after it starts.",
            fields={"ends_at": "After starts_at."},
        )
    cleaned = " ".join(reason.split()) if reason else ""
    if len(cleaned) > MAX_REASON_LENGTH:
        raise RuleBroken(
            "validation_error",
            "The reason is too long.",
            fields={"reason": f"At most {MAX_REASON_LENGTH} characters."},
        )
    return Closure(starts_at, ends_at), cleaned or None


def fits_hours(
    intervals: Sequence[Interval], zone: ZoneInfo, day: date, starts_at: datetime, ends_at: datetime
) -> bool:
    """Whether [starts_at, ends_at) lies inside one of the day's open intervals."""
    for interval in intervals:
        opens = wall_time(day, interval.start, zone).astimezone(UTC)
        closes = wall_time(day, interval.end, zone).astimezone(UTC)
        if opens <= starts_at and ends_at <= closes:
            return True
    return False


def days_touched(closure: Closure, zone: ZoneInfo) -> tuple[date, date]:
    """The provider-local days whose slots may overlap the span (a slot starts on its day and
    lasts at most a day)."""
    first = closure.starts_at.astimezone(zone).date() - timedelta(days=1)
    last = closure.ends_at.astimezone(zone).date()
    return first, last
