"""The provider's subscription feed as iCalendar text (pure: entries in, bytes out).

Each appointment is one VEVENT with the UID and SEQUENCE its e-mailed .ics carries (sql/0015),
so a calendar that imported the e-mail and subscribes to the feed sees one event. Times are
written in UTC (`Z`), which every calendar places right in any zone. DTSTAMP is the row's last
change, not the clock, so the same bookings always give the same bytes (and the same ETag).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

from icalendar import Calendar, Event, vDuration

from server.models.calendar_feeds import FeedEntry

# How often calendar apps are asked to poll (REFRESH-INTERVAL and X-PUBLISHED-TTL).
REFRESH = timedelta(minutes=15)


def feed_calendar(business_name: str, entries: Sequence[FeedEntry]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Appointly//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{business_name} — Appointly")
    refresh = vDuration(REFRESH)
    refresh.params["VALUE"] = "DURATION"
    calendar.add("refresh-interval", refresh)
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for entry in entries:
        calendar.add_component(_event(entry))
    ical: bytes = calendar.to_ical()
    return ical


def _event(entry: FeedEntry) -> Event:
    event = Event()
    event.add("uid", entry.ical_uid or f"{entry.id}@appointly")
    event.add("sequence", entry.ical_sequence)
    event.add("dtstamp", entry.updated_at.astimezone(UTC))
    event.add("dtstart", entry.starts_at.astimezone(UTC))
    event.add("dtend", entry.ends_at.astimezone(UTC))
    event.add("summary", f"{entry.service_name}: {entry.customer_name}")
    event.add("status", "CONFIRMED" if entry.status == "CONFIRMED" else "TENTATIVE")
    if entry.location:
        event.add("location", entry.location)
    if entry.notes:
        event.add("description", entry.notes)
    return event
