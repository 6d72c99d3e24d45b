"""A service's weekly opening hours: parsing and validating `{"mon": [["09:00", "12:00"]], …}`.

Times are wall-clock times in the provider's zone, held as minutes after midnight so that the
end "24:00" (midnight at the end of the day) is simply 1440.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MAX_DAY_INTERVALS = 48  # for one date's own hours (sql/0014 holds the same bound)
_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


@dataclass(frozen=True, order=True)
class Interval:
    """An open interval of a day, [start, end) in minutes after local midnight."""

    start: int
    end: int


# Weekday number (Monday = 0, as date.weekday()) → that day's intervals, sorted by start.
WeeklyHours = dict[int, tuple[Interval, ...]]


class HoursError(ValueError):
    """The schedule is malformed; `fields` maps e.g. "hours.mon.1" to what is wrong there."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = fields


def parse_clock(raw: object) -> int | None:
    """ "09:30" → 570, "24:00" → 1440; None when it is not a valid HH:MM time."""
    if not isinstance(raw, str):
        return None
    match = _CLOCK.match(raw)
    if match is None:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return minutes if minutes <= MINUTES_PER_DAY else None


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hours(raw: object) -> WeeklyHours:
    """Validate a weekly schedule; raises HoursError naming every bad day or interval.

    Rules: day keys are mon…sun; each interval is a pair of "HH:MM" strings inside
    00:00-24:00 with end after start ("24:00" only as an end); intervals of one day do not
    overlap (touching is fine). A missing day, or an empty list, is a closed day.
    """
    if not isinstance(raw, Mapping):
        raise HoursError({"hours": 'Give the weekly hours as {"mon": [["09:00", "17:00"]], …}.'})
    errors: dict[str, str] = {}
    weekly: WeeklyHours = {}
    for key, value in raw.items():
        if key not in DAYS:
            errors[f"hours.{key}"] = "Unknown day: use mon, tue, wed, thu, fri, sat or sun."
            continue
        intervals = _parse_day(key, value, errors)
        if intervals:
            weekly[DAYS.index(key)] = intervals
    if errors:
        raise HoursError(errors)
    return weekly


def parse_intervals(raw: object) -> tuple[Interval, ...]:
    """One day's intervals, e.g. a date override's `[["10:00", "14:00"]]` (`[]`: closed);
    raises HoursError keyed "hours" or "hours.1" with the same rules as a weekday's."""
    errors: dict[str, str] = {}
    intervals = _parse_intervals(raw, "hours", errors)
    if len(intervals) > MAX_DAY_INTERVALS:
        errors["hours"] = f"At most {MAX_DAY_INTERVALS} intervals in a day."
    if errors:
        raise HoursError(errors)
    return intervals


def intervals_to_json(intervals: tuple[Interval, ...]) -> list[list[str]]:
    return [[format_clock(i.start), format_clock(i.end)] for i in intervals]


def _parse_day(day: str, value: object, errors: dict[str, str]) -> tuple[Interval, ...]:
    return _parse_intervals(value, f"hours.{day}", errors)


def _parse_intervals(value: object, key: str, errors: dict[str, str]) -> tuple[Interval, ...]:
    if not isinstance(value, list | tuple):
        errors[key] = 'A list of [start, end] pairs such as [["09:00", "12:00"]].'
        return ()
    intervals: list[Interval] = []
    for index, pair in enumerate(value):
        interval = _parse_interval(pair)
        if isinstance(interval, str):
            errors[f"{key}.{index}"] = interval
        else:
            intervals.append(interval)
    intervals.sort()
    for earlier, later in itertools.pairwise(intervals):
        if later.start < earlier.end:
            errors[key] = (
                f"{format_clock(earlier.start)}-{format_clock(earlier.end)} overlaps "
                f"{format_clock(later.start)}-{format_clock(later.end)}."
            )
            break
    return tuple(intervals)


def _parse_interval(pair: object) -> Interval | str:
    """The interval, or a message saying what is wrong with it."""
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return 'Each interval is a pair ["HH:MM", "HH:MM"].'
    start, end = parse_clock(pair[0]), parse_clock(pair[1])
    if start is None or end is None:
        return 'Times are "HH:MM" between 00:00 and 24:00.'
    if start >= MINUTES_PER_DAY:
        return "An interval cannot start at 24:00."
    if end <= start:
        return "The end must be after the start."
    return Interval(start, end)


def hours_to_json(weekly: WeeklyHours) -> dict[str, list[list[str]]]:
    """The canonical stored form: open days only, in week order, intervals sorted."""
    return {DAYS[day]: intervals_to_json(weekly[day]) for day in sorted(weekly)}


def parse_stored_hours(stored: Any) -> WeeklyHours:
    """Hours read back from the database were validated on the way in."""
    return parse_hours(stored)
