"""Slot generation: turning weekly hours into concrete, DST-correct slots. No I/O.

Rules:
- Within each open interval of a day, slots of `duration` start back to back on the wall
  clock of the provider's zone; a slot must end (in real time) by the end of its interval.
- A wall-clock start that does not exist (the spring-forward gap) produces no slot.
- An ambiguous wall-clock start (the fall-back hour) is read as its first occurrence
  (fold=0); a start that would overlap the previous slot in real time is skipped, so slots
  never overlap.
- Slots starting at or before `now` are not generated.
- At most `max_per_day` live slots per day, counting the ones that already exist.
- A buffer of `buffer_minutes` separates one slot's end from the next start inside an open
  interval (09:00-12:00, 30 minutes + 15 → 09:00, 09:45, 10:30, 11:15), in real time: across a
  spring-forward change a start that would leave less than the buffer is skipped.
- A date override replaces its day's weekday intervals (no intervals: closed); a slot that
  overlaps a closure (time off, a busy time) is not generated.
- Tokens number the day's slots 1, 2, 3 … in start order, counting only slots that are
  generated (a slot skipped for being in the past takes no token). When a day already has
  slots (kept across a regeneration: booked or past ones), new slots avoid their times and
  take the smallest tokens they do not use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain.hours import Interval, WeeklyHours
from server.domain.rules import RuleBroken

# A date's own intervals, replacing its weekday's hours for that date only.
DateOverrides = Mapping[date, Sequence[Interval]]


@dataclass(frozen=True)
class GeneratedSlot:
    slot_date: date
    starts_at: datetime
    ends_at: datetime
    token: int


@dataclass(frozen=True)
class ExistingSlot:
    """A live row that stays where it is; new slots must not collide with it."""

    starts_at: datetime
    ends_at: datetime
    token: int


@dataclass(frozen=True)
class Closure:
    """A span of real time [starts_at, ends_at) in which no free slot may lie (time off)."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return starts_at < self.ends_at and self.starts_at < ends_at


def generate_slots(
    hours: WeeklyHours,
    duration_minutes: int,
    max_per_day: int,
    zone: ZoneInfo,
    start_date: date,
    end_date: date,
    now: datetime,
    existing: Mapping[date, Sequence[ExistingSlot]] | None = None,
    *,
    buffer_minutes: int = 0,
    overrides: DateOverrides | None = None,
    closures: Sequence[Closure] = (),
) -> list[GeneratedSlot]:
    """The slots for every day from start_date to end_date inclusive, in start order."""
    slots: list[GeneratedSlot] = []
    day = start_date
    while day <= end_date:
        kept = existing.get(day, ()) if existing else ()
        slots.extend(
            generate_slots_for_day(
                hours,
                duration_minutes,
                max_per_day,
                zone,
                day,
                now,
                kept,
                buffer_minutes=buffer_minutes,
                overrides=overrides,
                closures=closures,
            )
        )
        day += timedelta(days=1)
    return slots


def day_intervals(
    hours: WeeklyHours, overrides: DateOverrides | None, day: date
) -> Sequence[Interval]:
    """The open intervals of `day`: its override's when it has one, else its weekday's."""
    if overrides is not None and day in overrides:
        return overrides[day]
    return hours.get(day.weekday(), ())


def generate_slots_for_day(
    hours: WeeklyHours,
    duration_minutes: int,
    max_per_day: int,
    zone: ZoneInfo,
    day: date,
    now: datetime,
    existing: Sequence[ExistingSlot] = (),
    *,
    buffer_minutes: int = 0,
    overrides: DateOverrides | None = None,
    closures: Sequence[Closure] = (),
) -> list[GeneratedSlot]:
    intervals = day_intervals(hours, overrides, day)
    room = max_per_day - len(existing)
    if room <= 0:
        return []
    duration = timedelta(minutes=duration_minutes)
    gap = timedelta(minutes=buffer_minutes)
    tokens = _free_tokens({slot.token for slot in existing})
    slots: list[GeneratedSlot] = []
    previous: tuple[int, datetime] | None = None  # (interval number, end) of the last start
    for number, starts_at in _candidate_starts(intervals, duration + gap, duration, zone, day):
        ends_at = starts_at + duration
        if previous is not None and starts_at < previous[1] + (
            gap if previous[0] == number else timedelta()
        ):
            continue
        previous = (number, ends_at)
        if (
            starts_at <= now
            or _collides(starts_at, ends_at, existing, gap)
            or any(closure.overlaps(starts_at, ends_at) for closure in closures)
        ):
            continue
        slots.append(GeneratedSlot(day, starts_at, ends_at, next(tokens)))
        if len(slots) == room:
            break
    return slots


def _candidate_starts(
    intervals: Sequence[Interval],
    step: timedelta,
    duration: timedelta,
    zone: ZoneInfo,
    day: date,
) -> Iterator[tuple[int, datetime]]:
    """(interval number, UTC start) of slots every `step` on the wall clock that exist and
    fit inside their interval."""
    offset = steady_utc_offset(day, zone)
    if offset is not None:
        return steady_day_starts(intervals, step, duration, offset, day)
    return wall_clock_starts(intervals, step, duration, zone, day)


def steady_day_starts(
    intervals: Sequence[Interval],
    step: timedelta,
    duration: timedelta,
    offset: timedelta,
    day: date,
) -> Iterator[tuple[int, datetime]]:
    """`wall_clock_starts` for a day without a clock change (the zone is UTC + `offset` all
    day): every wall-clock time exists once, so no time needs a zone conversion of its own.
    Most days of a year's horizon, at a fraction of the cost."""
    step_minutes = int(step.total_seconds() // 60)
    length = int(duration.total_seconds() // 60)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - offset
    for number, interval in enumerate(intervals):
        interval_end = midnight + timedelta(minutes=interval.end)
        for minute in range(interval.start, interval.end - length + 1, step_minutes):
            starts_at = midnight + timedelta(minutes=minute)
            if starts_at + duration <= interval_end:
                yield number, starts_at


def wall_clock_starts(
    intervals: Sequence[Interval],
    step: timedelta,
    duration: timedelta,
    zone: ZoneInfo,
    day: date,
) -> Iterator[tuple[int, datetime]]:
    """The candidate starts of any day, each wall-clock time converted on its own (a day
    with a clock change needs it: a skipped time yields nothing, a repeated one its first)."""
    step_minutes = int(step.total_seconds() // 60)
    length = int(duration.total_seconds() // 60)
    for number, interval in enumerate(intervals):
        interval_end = wall_time(day, interval.end, zone).astimezone(UTC)
        for minute in range(interval.start, interval.end - length + 1, step_minutes):
            local_start = wall_time(day, minute, zone)
            if not _exists(local_start, zone):
                continue
            # Real-time arithmetic happens in UTC: aware datetimes sharing a zone add and
            # compare on the wall clock, which is wrong across a DST change.
            starts_at = local_start.astimezone(UTC)
            if starts_at + duration <= interval_end:
                yield number, starts_at


def steady_utc_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset all through `day` (midnight to the next midnight), or None when
    the clocks change that day (then each wall-clock time is converted on its own). Sampled
    every six hours: no zone changes its clocks twice within six hours and back."""
    offsets = {
        wall_time(day, minute, zone).utcoffset() for minute in (0, 6 * 60, 12 * 60, 18 * 60, 1440)
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return offset


def wall_time(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """`minute` after local midnight of `day` (1440 = next midnight), first occurrence."""
    extra_days, minute = divmod(minute, 24 * 60)
    local_day = day + timedelta(days=extra_days)
    return datetime.combine(local_day, time(minute // 60, minute % 60), tzinfo=zone)


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    """False for a wall-clock time skipped by a spring-forward change."""
    round_trip = local.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def _collides(
    starts_at: datetime, ends_at: datetime, existing: Sequence[ExistingSlot], gap: timedelta
) -> bool:
    """Whether a new slot would overlap a kept one, or come closer to it than the buffer."""
    return any(
        starts_at < slot.ends_at + gap and slot.starts_at < ends_at + gap for slot in existing
    )


def _free_tokens(taken: set[int]) -> Iterator[int]:
    token = 0
    while True:
        token += 1
        if token not in taken:
            yield token


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def horizon_end(today: date, horizon_days: int) -> date:
    """The last day that should have slots: today counts as the first of the horizon."""
    return today + timedelta(days=horizon_days - 1)


def effective_horizon_days(horizon_days: int | None, default_days: int) -> int:
    """A service's own horizon, or SLOT_HORIZON_DAYS when it has none."""
    return default_days if horizon_days is None else horizon_days


def notice_edge(now: datetime, min_notice_minutes: int) -> datetime:
    """Slots starting at or before this moment can no longer be booked."""
    return now + timedelta(minutes=min_notice_minutes)


def bookable_in_time(starts_at: datetime, now: datetime, min_notice_minutes: int) -> bool:
    """Whether a slot starting at `starts_at` is still far enough ahead to be booked."""
    return starts_at > notice_edge(now, min_notice_minutes)


def check_notice(starts_at: datetime, now: datetime, min_notice_minutes: int) -> None:
    """Refuse (409 `too_late_to_book`) a slot inside the service's minimum notice."""
    if not bookable_in_time(starts_at, now, min_notice_minutes):
        raise RuleBroken(
            "too_late_to_book",
            f"This time must be booked at least {describe_minutes(min_notice_minutes)} ahead.",
        )


def describe_minutes(minutes: int) -> str:
    """ "2 hours", "90 minutes", "1 day" — for messages."""
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
