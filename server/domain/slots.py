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


def generate_slots(
    hours: WeeklyHours,
    duration_minutes: int,
    max_per_day: int,
    zone: ZoneInfo,
    start_date: date,
    end_date: date,
    now: datetime,
    existing: Mapping[date, Sequence[ExistingSlot]] | None = None,
) -> list[GeneratedSlot]:
    """The slots for every day from start_date to end_date inclusive, in start order."""
    slots: list[GeneratedSlot] = []
    day = start_date
    while day <= end_date:
        kept = existing.get(day, ()) if existing else ()
        slots.extend(
            generate_slots_for_day(hours, duration_minutes, max_per_day, zone, day, now, kept)
        )
        day += timedelta(days=1)
    return slots


def generate_slots_for_day(
    hours: WeeklyHours,
    duration_minutes: int,
    max_per_day: int,
    zone: ZoneInfo,
    day: date,
    now: datetime,
    existing: Sequence[ExistingSlot] = (),
) -> list[GeneratedSlot]:
    room = max_per_day - len(existing)
    if room <= 0:
        return []
    duration = timedelta(minutes=duration_minutes)
    taken_tokens = {slot.token for slot in existing}
    tokens = _free_tokens(taken_tokens)
    slots: list[GeneratedSlot] = []
    previous_end: datetime | None = None
    for starts_at in _candidate_starts(hours.get(day.weekday(), ()), duration, zone, day):
        ends_at = starts_at + duration
        if previous_end is not None and starts_at < previous_end:
            continue
        previous_end = ends_at
        if starts_at <= now or _collides(starts_at, ends_at, existing):
            continue
        slots.append(GeneratedSlot(day, starts_at, ends_at, next(tokens)))
        if len(slots) == room:
            break
    return slots


def _candidate_starts(
    intervals: Sequence[Interval], duration: timedelta, zone: ZoneInfo, day: date
) -> Iterator[datetime]:
    """UTC start times of back-to-back slots that exist and fit inside their interval."""
    step = int(duration.total_seconds() // 60)
    for interval in intervals:
        interval_end = wall_time(day, interval.end, zone).astimezone(UTC)
        for minute in range(interval.start, interval.end - step + 1, step):
            local_start = wall_time(day, minute, zone)
            if not _exists(local_start, zone):
                continue
            # Real-time arithmetic happens in UTC: aware datetimes sharing a zone add and
            # compare on the wall clock, which is wrong across a DST change.
            starts_at = local_start.astimezone(UTC)
            if starts_at + duration <= interval_end:
                yield starts_at


def wall_time(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """`minute` after local midnight of `day` (1440 = next midnight), first occurrence."""
    extra_days, minute = divmod(minute, 24 * 60)
    local_day = day + timedelta(days=extra_days)
    return datetime.combine(local_day, time(minute // 60, minute % 60), tzinfo=zone)


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    """False for a wall-clock time skipped by a spring-forward change."""
    round_trip = local.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def _collides(starts_at: datetime, ends_at: datetime, existing: Sequence[ExistingSlot]) -> bool:
    return any(starts_at < slot.ends_at and slot.starts_at < ends_at for slot in existing)


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
