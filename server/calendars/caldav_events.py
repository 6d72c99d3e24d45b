"""The iCalendar Appointly writes into a provider's CalDAV calendar, and the busy times it
reads out of the calendar's own events."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Event

from server.models.appointments import Appointment

Interval = tuple[datetime, datetime]


def booking_uid(appointment: Appointment) -> str:
    """The UID every .ics of this booking carries (the e-mailed one and the feed's too)."""
    return appointment.ical_uid or f"{appointment.id}@appointly"


def booking_event(appointment: Appointment, now: datetime) -> str:
    """The booking as a calendar object resource: one VEVENT at its wall-clock time in the
    provider's zone (with that VTIMEZONE), the booking's UID and SEQUENCE, no METHOD."""
    zone = appointment.zone
    calendar = Calendar()
    calendar.add("prodid", "-//Appointly//Bookings//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", booking_uid(appointment))
    event.add("sequence", appointment.ical_sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", f"{appointment.service_name}: {appointment.customer_name}")
    event.add("status", "CONFIRMED" if appointment.status.value == "CONFIRMED" else "TENTATIVE")
    if appointment.location:
        event.add("location", appointment.location)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    text: str = calendar.to_ical().decode()
    return text


def busy_intervals(
    objects: Iterable[str],
    *,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    skip_uids: Collection[str],
) -> list[Interval]:
    """The opaque event occurrences in [start, end) of the given calendar objects, recurring
    ones expanded, all-day and floating times placed in `zone`; events whose UID is in
    `skip_uids` (our own bookings) and TRANSP:TRANSPARENT ones are left out."""
    intervals: list[Interval] = []
    for text in objects:
        calendar = Calendar.from_ical(text)
        for occurrence in recurring_ical_events.of(calendar).between(start, end):
            if str(occurrence.get("uid", "")) in skip_uids:
                continue
            if str(occurrence.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            interval = _interval(occurrence, zone)
            if interval is not None and interval[1] > start and interval[0] < end:
                intervals.append(interval)
    return sorted(intervals)


def _interval(event: Any, zone: ZoneInfo) -> Interval | None:
    if event.get("dtstart") is None:
        return None
    starts = _moment(event["dtstart"].dt, zone)
    if event.get("dtend") is not None:
        ends = _moment(event["dtend"].dt, zone)
    elif event.get("duration") is not None:
        ends = starts + event["duration"].dt
    elif isinstance(event["dtstart"].dt, datetime):
        return None  # an instant: busy for no time
    else:
        ends = starts + timedelta(days=1)
    return (starts, ends) if ends > starts else None


def _moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0), tzinfo=zone)
