"""Slot generation as a pure function: no database, the clock pinned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from server.domain.hours import parse_hours
from server.domain.slots import ExistingSlot, GeneratedSlot, generate_slots

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def local_starts(slots: list[GeneratedSlot], zone: ZoneInfo) -> list[str]:
    return [slot.starts_at.astimezone(zone).strftime("%H:%M") for slot in slots]


def assert_no_overlap(slots: list[GeneratedSlot]) -> None:
    ordered = sorted(slots, key=lambda slot: slot.starts_at)
    for earlier, later in pairwise(ordered):
        assert earlier.ends_at <= later.starts_at


def one_day(
    hours: dict[str, list[list[str]]],
    day: date,
    zone: ZoneInfo,
    *,
    duration: int = 30,
    cap: int = 500,
    now: datetime = LONG_AGO,
    existing: dict[date, list[ExistingSlot]] | None = None,
) -> list[GeneratedSlot]:
    return generate_slots(parse_hours(hours), duration, cap, zone, day, day, now, existing)


def test_split_hours_give_back_to_back_slots_in_each_interval_numbered_through_the_day() -> None:
    monday = date(2026, 11, 23)
    slots = one_day({"mon": [["09:00", "10:30"], ["13:00", "14:00"]]}, monday, LONDON)
    assert local_starts(slots, LONDON) == ["09:00", "09:30", "10:00", "13:00", "13:30"]
    assert [slot.token for slot in slots] == [1, 2, 3, 4, 5]
    assert all(slot.slot_date == monday for slot in slots)
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)


def test_slot_times_are_absolute_and_carry_the_zone_offset() -> None:
    slots = one_day({"tue": [["09:30", "10:00"]]}, date(2026, 11, 24), LONDON)
    assert slots[0].starts_at.astimezone(LONDON).isoformat() == "2026-11-24T09:30:00+00:00"
    summer = one_day({"tue": [["09:30", "10:00"]]}, date(2026, 6, 23), LONDON)
    assert summer[0].starts_at.astimezone(LONDON).isoformat() == "2026-06-23T09:30:00+01:00"
    assert summer[0].starts_at == datetime(2026, 6, 23, 8, 30, tzinfo=UTC)


def test_a_duration_that_does_not_divide_the_interval_leaves_the_remainder_unused() -> None:
    slots = one_day({"mon": [["09:00", "10:00"]]}, date(2026, 11, 23), LONDON, duration=25)
    assert local_starts(slots, LONDON) == ["09:00", "09:25"]
    assert slots[-1].ends_at.astimezone(LONDON).strftime("%H:%M") == "09:50"


def test_the_daily_cap_stops_generation() -> None:
    slots = one_day({"mon": [["09:00", "17:00"]]}, date(2026, 11, 23), LONDON, cap=3)
    assert local_starts(slots, LONDON) == ["09:00", "09:30", "10:00"]


def test_closed_days_have_no_slots() -> None:
    hours = parse_hours({"mon": [["09:00", "10:00"]], "tue": []})
    week = generate_slots(hours, 30, 10, LONDON, date(2026, 11, 23), date(2026, 11, 29), LONG_AGO)
    assert {slot.slot_date for slot in week} == {date(2026, 11, 23)}
    assert len(week) == 2


def test_an_end_of_24_00_means_midnight_at_the_end_of_the_day() -> None:
    day = date(2026, 11, 27)  # a Friday
    slots = one_day({"fri": [["22:00", "24:00"]]}, day, LONDON, duration=60)
    assert local_starts(slots, LONDON) == ["22:00", "23:00"]
    assert slots[-1].ends_at == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert all(slot.slot_date == day for slot in slots)


def test_nothing_starts_in_the_past_and_tokens_count_only_generated_slots() -> None:
    day = date(2026, 11, 23)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 10:00 in London
    slots = one_day({"mon": [["09:00", "12:00"]]}, day, LONDON, now=now)
    assert local_starts(slots, LONDON) == ["10:30", "11:00", "11:30"]
    assert [slot.token for slot in slots] == [1, 2, 3]


def test_new_york_spring_forward_has_no_slot_in_the_missing_hour() -> None:
    sunday = date(2026, 3, 8)  # 02:00 jumps to 03:00
    slots = one_day({"sun": [["00:00", "05:00"]]}, sunday, NEW_YORK, duration=60)
    assert local_starts(slots, NEW_YORK) == ["00:00", "01:00", "03:00", "04:00"]
    assert_no_overlap(slots)
    assert all(slot.ends_at - slot.starts_at == timedelta(hours=1) for slot in slots)


def test_london_spring_forward_skips_the_missing_half_hours() -> None:
    sunday = date(2026, 3, 29)  # 01:00 jumps to 02:00
    slots = one_day({"sun": [["00:00", "03:00"]]}, sunday, LONDON, duration=30)
    assert local_starts(slots, LONDON) == ["00:00", "00:30", "02:00", "02:30"]
    assert [slot.token for slot in slots] == [1, 2, 3, 4]
    assert_no_overlap(slots)


def test_a_slot_whose_end_falls_past_the_interval_in_real_time_is_not_generated() -> None:
    # 01:30 EST + 90 real minutes is 04:00 EDT, past the 03:30 close.
    sunday = date(2026, 3, 8)
    slots = one_day({"sun": [["00:00", "03:30"]]}, sunday, NEW_YORK, duration=90)
    assert local_starts(slots, NEW_YORK) == ["00:00"]


def test_new_york_fall_back_reads_the_repeated_hour_once_and_never_overlaps() -> None:
    sunday = date(2026, 11, 1)  # 02:00 EDT falls back to 01:00 EST
    slots = one_day({"sun": [["00:00", "03:00"]]}, sunday, NEW_YORK, duration=30)
    assert_no_overlap(slots)
    starts = [slot.starts_at for slot in slots]
    assert starts[:4] == [
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # 00:00 EDT
        datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 0, tzinfo=UTC),  # 01:00 EDT, the first 01:00
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    ]
    assert local_starts(slots, NEW_YORK) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    assert [slot.token for slot in slots] == [1, 2, 3, 4, 5, 6]


def test_london_fall_back_slot_spanning_the_change_does_not_overlap_the_next() -> None:
    sunday = date(2026, 10, 25)  # 02:00 BST falls back to 01:00 GMT
    slots = one_day({"sun": [["00:00", "04:00"]]}, sunday, LONDON, duration=90)
    assert_no_overlap(slots)
    # 00:00 BST → 01:30 BST; 01:30 (first, BST) → 02:00 GMT; 03:00 GMT → 04:30 is too late.
    assert local_starts(slots, LONDON) == ["00:00", "01:30"]
    assert slots[1].ends_at == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


def test_regeneration_avoids_kept_slots_and_their_tokens() -> None:
    day = date(2026, 11, 23)
    kept = ExistingSlot(
        starts_at=datetime(2026, 11, 23, 9, 45, tzinfo=UTC),
        ends_at=datetime(2026, 11, 23, 10, 15, tzinfo=UTC),
        token=2,
    )
    slots = one_day({"mon": [["09:00", "11:00"]]}, day, LONDON, existing={day: [kept]})
    assert local_starts(slots, LONDON) == ["09:00", "10:30"]
    assert [slot.token for slot in slots] == [1, 3]
    all_rows = [*slots, GeneratedSlot(day, kept.starts_at, kept.ends_at, kept.token)]
    assert_no_overlap(all_rows)


def test_kept_slots_count_toward_the_daily_cap() -> None:
    day = date(2026, 11, 23)
    kept = ExistingSlot(
        starts_at=datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
        ends_at=datetime(2026, 11, 23, 16, 30, tzinfo=UTC),
        token=1,
    )
    slots = one_day({"mon": [["09:00", "12:00"]]}, day, LONDON, cap=3, existing={day: [kept]})
    assert local_starts(slots, LONDON) == ["09:00", "09:30"]
    assert [slot.token for slot in slots] == [2, 3]
