"""Which of a CalDAV calendar's events are busy times (pure: no server, no database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.calendars.caldav_events import busy_intervals

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 3, 20, tzinfo=LONDON)
END = datetime(2026, 4, 10, tzinfo=LONDON)


def _calendar(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n{e}END:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"


def _busy(*events: str, skip: frozenset[str] = frozenset()) -> list[tuple[datetime, datetime]]:
    return busy_intervals([_calendar(*events)], zone=LONDON, start=START, end=END, skip_uids=skip)


def test_a_weekly_event_is_busy_every_week_at_the_same_wall_clock_time_across_dst() -> None:
    weekly = (
        "UID:gym\r\nDTSTART;TZID=Europe/London:20260323T090000\r\n"
        "DTEND;TZID=Europe/London:20260323T100000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
    )
    starts = [start.astimezone(LONDON) for start, _ in _busy(weekly)]
    assert [s.strftime("%m-%d %H:%M") for s in starts] == [
        "03-23 09:00",
        "03-30 09:00",
        "04-06 09:00",
    ]
    # British Summer Time began on 29 March: the same 09:00 is an hour earlier in UTC.
    assert starts[0].utcoffset() == timedelta(0)
    assert starts[1].utcoffset() == timedelta(hours=1)


def test_all_day_and_floating_events_are_placed_in_the_providers_zone() -> None:
    found = _busy(
        "UID:holiday\r\nDTSTART;VALUE=DATE:20260325\r\nDTEND;VALUE=DATE:20260326\r\n",
        "UID:floating\r\nDTSTART:20260327T140000\r\nDTEND:20260327T150000\r\n",
    )
    assert found == [
        (datetime(2026, 3, 25, tzinfo=LONDON), datetime(2026, 3, 26, tzinfo=LONDON)),
        (datetime(2026, 3, 27, 14, tzinfo=LONDON), datetime(2026, 3, 27, 15, tzinfo=LONDON)),
    ]


def test_transparent_events_and_our_own_bookings_are_not_busy() -> None:
    found = _busy(
        "UID:note\r\nTRANSP:TRANSPARENT\r\nDTSTART:20260324T100000Z\r\nDTEND:20260324T110000Z\r\n",
        "UID:abc@appointly\r\nDTSTART:20260324T120000Z\r\nDTEND:20260324T123000Z\r\n",
        "UID:lunch\r\nDTSTART:20260324T130000Z\r\nDURATION:PT45M\r\n",
        skip=frozenset({"abc@appointly"}),
    )
    assert [(s.isoformat(), e.isoformat()) for s, e in found] == [
        ("2026-03-24T13:00:00+00:00", "2026-03-24T13:45:00+00:00")
    ]
