"""Buffers, date overrides, time off and minimum notice in slot generation: pure functions, no
database, the clock pinned; across clock changes in three zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from server.domain.availability import fits_hours, parse_moment, parse_time_off
from server.domain.hours import parse_hours, parse_intervals
from server.domain.rules import RuleBroken
from server.domain.slots import (
    Closure,
    ExistingSlot,
    GeneratedSlot,
    bookable_in_time,
    check_notice,
    generate_slots,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_starts(slots: list[GeneratedSlot], zone: ZoneInfo) -> list[str]:
    return [slot.starts_at.astimezone(zone).strftime("%H:%M") for slot in slots]


def real_gaps(slots: list[GeneratedSlot]) -> list[timedelta]:
    return [later.starts_at - earlier.ends_at for earlier, later in pairwise(slots)]


def one_day(
    day: date,
    zone: ZoneInfo,
    *,
    hours: list[list[str]],
    duration: int = 30,
    buffer: int = 0,
    cap: int = 500,
    override: list[list[str]] | None = None,
    closures: tuple[Closure, ...] = (),
    existing: list[ExistingSlot] | None = None,
) -> list[GeneratedSlot]:
    weekly = parse_hours({name: hours for name in EVERY_DAY})
    overrides = None if override is None else {day: parse_intervals(override)}
    return generate_slots(
        weekly,
        duration,
        cap,
        zone,
        day,
        day,
        LONG_AGO,
        None if existing is None else {day: existing},
        buffer_minutes=buffer,
        overrides=overrides,
        closures=closures,
    )


# --- Buffers ----------------------------------------------------------------------------------


def test_a_buffer_leaves_its_gap_after_every_slot_of_an_interval() -> None:
    slots = one_day(date(2026, 11, 23), LONDON, hours=[["09:00", "12:00"]], buffer=15)
    assert local_starts(slots, LONDON) == ["09:00", "09:45", "10:30", "11:15"]
    assert [slot.token for slot in slots] == [1, 2, 3, 4]
    assert all(gap == timedelta(minutes=15) for gap in real_gaps(slots))


def test_the_buffer_is_between_slots_so_the_last_one_may_end_at_closing_time() -> None:
    slots = one_day(date(2026, 11, 23), LONDON, hours=[["09:00", "10:30"]], buffer=15)
    assert local_starts(slots, LONDON) == ["09:00", "09:45"]
    assert slots[-1].ends_at.astimezone(LONDON).strftime("%H:%M") == "10:15"


def test_each_interval_starts_at_its_opening_whatever_the_buffer() -> None:
    slots = one_day(
        date(2026, 11, 23), LONDON, hours=[["09:00", "10:00"], ["10:00", "11:30"]], buffer=20
    )
    assert local_starts(slots, LONDON) == ["09:00", "10:00", "10:50"]


def test_new_york_spring_forward_keeps_the_buffer_in_real_time() -> None:
    sunday = date(2026, 3, 8)  # 02:00 EST jumps to 03:00 EDT
    slots = one_day(sunday, NEW_YORK, hours=[["00:00", "05:00"]], buffer=15)
    # 01:30 EST ends at 02:00 EST = 03:00 EDT, so 03:00 would follow with no gap at all.
    assert local_starts(slots, NEW_YORK) == ["00:00", "00:45", "01:30", "03:45", "04:30"]
    assert min(real_gaps(slots)) >= timedelta(minutes=15)


def test_london_fall_back_with_a_buffer_never_overlaps_or_crowds() -> None:
    sunday = date(2026, 10, 25)  # 02:00 BST falls back to 01:00 GMT
    slots = one_day(sunday, LONDON, hours=[["00:00", "03:00"]], buffer=15)
    assert local_starts(slots, LONDON) == ["00:00", "00:45", "01:30", "02:15"]
    assert real_gaps(slots) == [timedelta(minutes=15)] * 2 + [timedelta(minutes=75)]


def test_sydney_spring_forward_drops_the_slot_the_lost_hour_would_crowd() -> None:
    sunday = date(2026, 10, 4)  # 02:00 AEST jumps to 03:00 AEDT
    slots = one_day(sunday, SYDNEY, hours=[["01:00", "04:00"]], buffer=15)
    # 02:30 does not exist; 01:45 AEST ends at 03:15 AEDT, so 03:15 would have no gap.
    assert local_starts(slots, SYDNEY) == ["01:00", "01:45"]


def test_new_slots_keep_the_buffer_from_a_kept_booking() -> None:
    day = date(2026, 11, 23)
    kept = ExistingSlot(
        starts_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        ends_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        token=1,
    )
    slots = one_day(day, LONDON, hours=[["09:00", "12:00"]], buffer=15, existing=[kept])
    # 09:00 would end just as the 09:30 booking starts; 09:45 starts inside its buffer.
    assert local_starts(slots, LONDON) == ["10:30", "11:15"]
    assert [slot.token for slot in slots] == [2, 3]


# --- Date overrides ---------------------------------------------------------------------------


def test_an_override_replaces_the_weekday_hours_of_its_date_only() -> None:
    weekly = parse_hours({name: [["09:00", "12:00"]] for name in EVERY_DAY})
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    slots = generate_slots(
        weekly,
        60,
        10,
        LONDON,
        monday,
        tuesday,
        LONG_AGO,
        overrides={tuesday: parse_intervals([["13:00", "15:00"]])},
    )
    by_day = {day: [s for s in slots if s.slot_date == day] for day in (monday, tuesday)}
    assert local_starts(by_day[monday], LONDON) == ["09:00", "10:00", "11:00"]
    assert local_starts(by_day[tuesday], LONDON) == ["13:00", "14:00"]


def test_an_empty_override_closes_the_day() -> None:
    slots = one_day(date(2026, 11, 23), LONDON, hours=[["09:00", "12:00"]], override=[])
    assert slots == []


def test_an_override_on_new_york_fall_back_day_follows_the_clock_change() -> None:
    sunday = date(2026, 11, 1)
    slots = one_day(
        sunday, NEW_YORK, hours=[["09:00", "17:00"]], duration=60, override=[["00:00", "03:00"]]
    )
    assert [slot.starts_at for slot in slots] == [
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # 00:00 EDT
        datetime(2026, 11, 1, 5, 0, tzinfo=UTC),  # the first 01:00 (EDT)
        datetime(2026, 11, 1, 7, 0, tzinfo=UTC),  # 02:00 EST
    ]
    assert slots[-1].ends_at.astimezone(NEW_YORK).strftime("%H:%M") == "03:00"


def test_an_override_with_a_buffer_across_sydney_spring_forward() -> None:
    sunday = date(2026, 10, 4)
    slots = one_day(
        sunday, SYDNEY, hours=[["09:00", "17:00"]], buffer=15, override=[["01:00", "04:00"]]
    )
    assert local_starts(slots, SYDNEY) == ["01:00", "01:45"]


# --- Time off ---------------------------------------------------------------------------------


def test_time_off_removes_the_slots_it_overlaps_and_keeps_those_that_touch_it() -> None:
    day = date(2026, 11, 23)
    closure = Closure(
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC), datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    )
    slots = one_day(day, LONDON, hours=[["09:00", "12:00"]], closures=(closure,))
    assert local_starts(slots, LONDON) == ["09:00", "09:30", "11:00", "11:30"]


def test_time_off_across_london_spring_forward_is_real_time() -> None:
    sunday = date(2026, 3, 29)  # 01:00 GMT jumps to 02:00 BST
    zone = LONDON
    closure, _ = parse_time_off("2026-03-29T00:30", "2026-03-29T02:30", None, zone)
    assert closure.starts_at == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert closure.ends_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    slots = one_day(sunday, zone, hours=[["00:00", "04:00"]], closures=(closure,))
    assert local_starts(slots, zone) == ["00:00", "02:30", "03:00", "03:30"]


def test_time_off_across_new_york_fall_back_with_a_buffer() -> None:
    sunday = date(2026, 11, 1)
    # The second 01:00 (EST) to 02:30 EST, given with its offset.
    closure, _ = parse_time_off(
        "2026-11-01T01:00:00-05:00", "2026-11-01T02:30:00-05:00", None, NEW_YORK
    )
    slots = one_day(sunday, NEW_YORK, hours=[["00:00", "04:00"]], buffer=15, closures=(closure,))
    starts = [slot.starts_at for slot in slots]
    assert all(not closure.overlaps(slot.starts_at, slot.ends_at) for slot in slots)
    assert datetime(2026, 11, 1, 5, 30, tzinfo=UTC) in starts  # 01:30 EDT, before the change
    assert min(real_gaps(slots)) >= timedelta(minutes=15)


def test_a_capped_day_with_time_off_offers_later_times_instead() -> None:
    day = date(2026, 11, 23)
    closure = Closure(
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    )
    slots = one_day(day, LONDON, hours=[["09:00", "12:00"]], cap=3, closures=(closure,))
    assert local_starts(slots, LONDON) == ["10:00", "10:30", "11:00"]
    assert [slot.token for slot in slots] == [1, 2, 3]


def test_time_off_needs_an_end_after_its_start() -> None:
    with pytest.raises(RuleBroken) as broken:
        parse_time_off("2026-12-24T10:00", "2026-12-24T10:00", None, LONDON)
    assert broken.value.fields == {"ends_at": "After starts_at."}
    with pytest.raises(RuleBroken) as broken:
        parse_moment("next tuesday", LONDON, "starts_at")
    assert broken.value.fields is not None and "starts_at" in broken.value.fields


def test_fits_hours_judges_real_time_against_the_days_intervals() -> None:
    intervals = parse_intervals([["10:00", "14:00"]])
    day = date(2026, 6, 23)  # BST: 10:00 local is 09:00 UTC
    inside = datetime(2026, 6, 23, 9, 0, tzinfo=UTC)
    assert fits_hours(intervals, LONDON, day, inside, inside + timedelta(hours=1))
    early = datetime(2026, 6, 23, 8, 30, tzinfo=UTC)
    assert not fits_hours(intervals, LONDON, day, early, early + timedelta(hours=1))
    assert not fits_hours((), LONDON, day, inside, inside + timedelta(hours=1))


# --- Minimum notice ---------------------------------------------------------------------------


def test_minimum_notice_is_an_edge_that_moves_with_the_clock() -> None:
    starts_at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    two_hours = 120
    assert bookable_in_time(starts_at, starts_at - timedelta(hours=2, seconds=1), two_hours)
    assert not bookable_in_time(starts_at, starts_at - timedelta(hours=2), two_hours)
    with pytest.raises(RuleBroken) as broken:
        check_notice(starts_at, starts_at - timedelta(minutes=90), two_hours)
    assert broken.value.code == "too_late_to_book"
    assert "2 hours" in broken.value.message
