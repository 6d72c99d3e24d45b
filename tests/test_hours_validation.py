"""Weekly hours: what a provider may write, and the field-level messages for what they may not."""

from __future__ import annotations

import pytest

from server.domain.hours import HoursError, Interval, hours_to_json, parse_clock, parse_hours


def errors_for(raw: object) -> dict[str, str]:
    with pytest.raises(HoursError) as caught:
        parse_hours(raw)
    return caught.value.fields


def test_a_split_day_parses_into_sorted_intervals_in_minutes() -> None:
    weekly = parse_hours({"tue": [["13:00", "17:00"], ["09:00", "12:00"]]})
    assert weekly == {1: (Interval(540, 720), Interval(780, 1020))}


def test_missing_days_and_empty_days_are_closed() -> None:
    weekly = parse_hours({"mon": [["09:00", "17:00"]], "sun": []})
    assert set(weekly) == {0}
    assert parse_hours({}) == {}


def test_24_00_is_allowed_as_an_end_but_not_as_a_start() -> None:
    assert parse_hours({"fri": [["20:00", "24:00"]]}) == {4: (Interval(1200, 1440),)}
    assert "hours.fri.0" in errors_for({"fri": [["24:00", "24:00"]]})


def test_touching_intervals_are_fine_but_overlapping_ones_are_not() -> None:
    assert parse_hours({"mon": [["09:00", "12:00"], ["12:00", "13:00"]]})
    errors = errors_for({"mon": [["09:00", "12:00"], ["11:30", "13:00"]]})
    assert "overlaps" in errors["hours.mon"]


@pytest.mark.parametrize(
    "interval",
    [
        ["9:00", "12:00"],
        ["09:00", "25:00"],
        ["09:60", "12:00"],
        ["24:30", "24:45"],
        ["09:00"],
        ["09:00", "12:00", "13:00"],
        [900, 1200],
        "09:00-12:00",
        None,
    ],
)
def test_malformed_intervals_are_named_by_day_and_position(interval: object) -> None:
    errors = errors_for({"wed": [["08:00", "08:30"], interval]})
    assert list(errors) == ["hours.wed.1"]


def test_an_end_before_or_at_the_start_is_refused() -> None:
    assert errors_for({"mon": [["12:00", "09:00"]]})["hours.mon.0"].startswith("The end")
    assert "hours.mon.0" in errors_for({"mon": [["09:00", "09:00"]]})


def test_unknown_day_keys_are_refused() -> None:
    errors = errors_for({"monday": [["09:00", "17:00"]], "xyz": []})
    assert set(errors) == {"hours.monday", "hours.xyz"}


def test_a_day_that_is_not_a_list_is_refused() -> None:
    assert "hours.sat" in errors_for({"sat": "09:00-17:00"})


def test_hours_that_are_not_an_object_are_refused() -> None:
    assert "hours" in errors_for([["09:00", "17:00"]])


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_for({"mon": [["x", "y"]], "tue": [["10:00", "09:00"]], "funday": []})
    assert set(errors) == {"hours.mon.0", "hours.tue.0", "hours.funday"}


def test_the_stored_form_lists_open_days_in_week_order() -> None:
    weekly = parse_hours({"sun": [["10:00", "14:00"]], "mon": [["13:00", "24:00"]], "tue": []})
    assert hours_to_json(weekly) == {"mon": [["13:00", "24:00"]], "sun": [["10:00", "14:00"]]}


def test_clock_parsing() -> None:
    assert parse_clock("00:00") == 0
    assert parse_clock("23:59") == 1439
    assert parse_clock("24:00") == 1440
    assert parse_clock("24:01") is None
    assert parse_clock(" 09:00") is None
