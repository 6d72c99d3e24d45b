"""An outside iCalendar file read as busy intervals (pure: bytes in, intervals out).

Recurring events are expanded with `recurring-ical-events` over the window asked for. Events
with a date only (all-day) and floating times (no zone) are placed in the provider's zone;
`TRANSP:TRANSPARENT` ("free") and cancelled events do not make anyone busy.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from server.domain.rules import RuleBroken
from server.models.busy_times import Interval, merge_intervals

# A feed can hold years of history; expanding more than this many occurrences is refused.
MAX_OCCURRENCES = 20_000


def busy_intervals(raw: bytes, zone: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """The busy intervals of the calendar `raw` that overlap [start, end), merged and sorted.

    Raises RuleBroken('not_icalendar') for a body that is not an iCalendar file.
    """
    try:
        calendar = Calendar.from_ical(raw)
    except (ValueError, IndexError, KeyError) as error:
        raise RuleBroken("not_icalendar", f"Not an iCalendar file ({error}).") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise RuleBroken("not_icalendar", "Not an iCalendar file (no VCALENDAR).")
    try:
        occurrences = recurring_ical_events.of(calendar, components=["VEVENT"]).between(start, end)
    except Exception as error:  # the library raises many kinds for broken rules
        raise RuleBroken("not_icalendar", f"Unreadable events ({type(error).__name__}).") from None
    found: list[Interval] = []
    for count, event in enumerate(occurrences):
        if count >= MAX_OCCURRENCES:
            raise RuleBroken("too_many_events", f"More than {MAX_OCCURRENCES} events.")
        interval = _event_interval(event, zone)
        if interval is None:
            continue
        begins, ends = interval
        if ends > start and begins < end:
            found.append(interval)
    return merge_intervals(found)


def _event_interval(event: Any, zone: ZoneInfo) -> Interval | None:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if event.get("DTSTART") is None:
        return None
    starts = event["DTSTART"].dt
    if event.get("DTEND") is not None:
        ends = event["DTEND"].dt
    elif event.get("DURATION") is not None:
        ends = starts + event["DURATION"].dt
    elif isinstance(starts, datetime):
        return None  # a moment, not a span: busy for no time
    else:
        ends = starts + timedelta(days=1)
    begins_at = _placed(starts, zone)
    ends_at = _placed(ends, zone)
    if ends_at <= begins_at:
        return None
    return begins_at, ends_at


def _placed(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DTSTART/DTEND value as an aware moment: dates at midnight and floating times in the
    provider's zone."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=zone)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value
