"""Days without a clock change take a shortcut (server.domain.slots.steady_day_starts): the
same starts as converting every wall-clock time on its own, in every zone, all year round.
Pure: no database."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.hours import Interval
from server.domain.slots import steady_day_starts, steady_utc_offset, wall_clock_starts

ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour clock change
    "Asia/Kolkata",  # +05:30, no changes
    "America/Santiago",  # changes at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
)
INTERVALS = (Interval(0, 150), Interval(9 * 60, 17 * 60), Interval(22 * 60, 24 * 60))


@pytest.mark.parametrize("zone_name", ZONES)
def test_steady_days_give_the_starts_of_converting_each_time(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    step, duration = timedelta(minutes=45), timedelta(minutes=30)
    changing = 0
    day = date(2027, 1, 1)
    while day < date(2029, 1, 1):
        offset = steady_utc_offset(day, zone)
        if offset is None:
            changing += 1
        else:
            assert list(steady_day_starts(INTERVALS, step, duration, offset, day)) == list(
                wall_clock_starts(INTERVALS, step, duration, zone, day)
            ), day
        day += timedelta(days=1)
    # Two years: two clock changes a year where the zone has them, none where it has not.
    expected = 0 if zone_name in ("Asia/Kolkata", "UTC") else 4
    assert changing == expected


def test_a_day_with_a_clock_change_is_not_steady() -> None:
    london = ZoneInfo("Europe/London")
    assert steady_utc_offset(date(2027, 3, 28), london) is None  # spring forward
    assert steady_utc_offset(date(2027, 10, 31), london) is None  # fall back
    assert steady_utc_offset(date(2027, 3, 29), london) == timedelta(hours=1)
