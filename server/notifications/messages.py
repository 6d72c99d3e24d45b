"""What a message about an appointment says: its facts in the recipient's time zone, and the
calendar file a confirmed booking carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from server.domain.dates import format_day
from server.domain.money import format_amount
from server.models.appointments import Appointment
from server.notifications.outbox import Attachment


def customer_zone(appointment: Appointment) -> ZoneInfo:
    """The customer reads times in the zone their browser gave when booking, else the
    provider's (where the appointment happens)."""
    return ZoneInfo(appointment.customer_timezone or appointment.timezone)


def provider_zone(appointment: Appointment) -> ZoneInfo:
    return appointment.zone


def appointment_context(appointment: Appointment, zone: ZoneInfo) -> dict[str, Any]:
    """The template values for `appointment`, its times shown in `zone`."""
    starts = appointment.starts_at.astimezone(zone)
    ends = appointment.ends_at.astimezone(zone)
    return {
        "appointment_id": str(appointment.id),
        "service_name": appointment.service_name,
        "business_name": appointment.business_name,
        "customer_name": appointment.customer_name,
        "customer_email": appointment.customer_email,
        "customer_phone": appointment.customer_phone,
        "notes": appointment.notes,
        "location": appointment.location,
        "token": appointment.token,
        "day": format_day(starts),
        "start_time": f"{starts:%H:%M}",
        "end_time": f"{ends:%H:%M}",
        "timezone": zone.key,
        "price": format_price(appointment.price_cents, appointment.currency),
    }


def previous_times(before: Appointment, zone: ZoneInfo) -> dict[str, str]:
    """Where a moved booking was, for the "rescheduled" messages, in `zone`."""
    starts = before.starts_at.astimezone(zone)
    return {"previous_day": format_day(starts), "previous_start_time": f"{starts:%H:%M}"}


def format_price(cents: int, currency: str) -> str | None:
    """The price line of a message; none for a free service."""
    return format_amount(cents, currency) if cents else None


def calendar_attachment(appointment: Appointment) -> Attachment:
    """An .ics with the appointment at its wall-clock time in the provider's zone (TZID) and
    that zone's VTIMEZONE, so calendars place it right whatever zone they are in. Its UID and
    SEQUENCE are the booking's own (sql/0015): a later .ics of the same booking carries a
    higher SEQUENCE, so calendars update the event instead of adding another."""
    zone = appointment.zone
    calendar = Calendar()
    calendar.add("prodid", "-//Appointly//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", appointment.ical_uid or f"{appointment.id}@appointly")
    event.add("sequence", appointment.ical_sequence)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", f"{appointment.service_name} — {appointment.business_name}")
    if appointment.location:
        event.add("location", appointment.location)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return Attachment(
        filename="appointment.ics",
        content_type="text/calendar; method=PUBLISH",
        content=calendar.to_ical().decode(),
    )
