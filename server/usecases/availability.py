"""Date overrides and time off: stored, applied at once to free slots, announced after commit.

Each change runs in one transaction that locks the service rows first (the order every
regeneration takes), withdraws the free slots the new rules leave out, offers what they allow,
and lists the bookings they conflict with; what watchers must see is returned as `Effects` for
the caller to run after the commit. Bookings are never moved or cancelled here: a
booking that held its row first stays and is listed among the conflicts; one that comes after
finds its slot withdrawn (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.availability import (
    days_touched,
    fits_hours,
    parse_override_date,
    parse_override_hours,
    parse_time_off,
)
from server.domain.hours import intervals_to_json
from server.domain.slots import Closure, local_today
from server.edge.errors import APIError
from server.models import availability
from server.models.appointments import Appointment
from server.models.availability import DateOverride, TimeOff
from server.models.providers import Provider
from server.models.services import Service
from server.models.slots import Slot
from server.usecases.effects import Effects
from server.usecases.services import (
    get_service,
    lock_owned_service,
    regenerate_days,
    removed_for_good,
    service_not_found,
)


def _record(effects: Effects, service: Service, removed: list[Slot], added: list[Slot]) -> None:
    """Watchers of the service see its slots go and come (a snapshot when many changed)."""
    effects.slots_changed(
        service.id,
        service.provider.zone,
        changed=added,
        removed=removed_for_good(removed, added),
    )


def time_off_not_found() -> APIError:
    return APIError(404, "time_off_not_found", "There is no such time off.")


def parse_time_off_id(raw: str) -> UUID:
    """A path segment that is not a UUID names no time off: 404, not 500."""
    try:
        return UUID(raw)
    except ValueError:
        raise time_off_not_found() from None


def override_not_found() -> APIError:
    return APIError(404, "override_not_found", "That date has no override.")


# --- Date overrides ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideApplied:
    override: DateOverride
    conflicts: list[Appointment]
    effects: Effects

    def to_json(self) -> dict[str, Any]:
        return {
            "override": self.override.to_json(),
            "conflicts": [appointment.to_json() for appointment in self.conflicts],
        }


async def put_date_override(
    conn: asyncpg.Connection,
    user_id: UUID,
    service_id: UUID,
    raw_day: str,
    raw_hours: object,
    *,
    now: datetime,
) -> OverrideApplied:
    """Give one date of the owner's service its own hours ([] closes it), effective at once."""
    effects = Effects()
    async with conn.transaction():
        service, day = await _lock_override_day(conn, user_id, service_id, raw_day, now)
        zone = service.provider.zone
        intervals = parse_override_hours(raw_hours)
        override = await availability.upsert_override(
            conn, service.id, day, intervals_to_json(intervals)
        )
        await _reapply_day(conn, effects, service, day, now)
        booked = await availability.select_upcoming_bookings(
            conn, now=now, service_id=service.id, on_day=day
        )
        conflicts = [
            appointment
            for appointment in booked
            if not fits_hours(intervals, zone, day, appointment.starts_at, appointment.ends_at)
        ]
    return OverrideApplied(override, conflicts, effects)


async def delete_date_override(
    conn: asyncpg.Connection,
    user_id: UUID,
    service_id: UUID,
    raw_day: str,
    *,
    now: datetime,
) -> Effects:
    """The date follows its weekday's hours again."""
    effects = Effects()
    async with conn.transaction():
        service, day = await _lock_override_day(conn, user_id, service_id, raw_day, now)
        if not await availability.delete_override(conn, service.id, day):
            raise override_not_found()
        await _reapply_day(conn, effects, service, day, now)
    return effects


async def list_date_overrides(
    conn: asyncpg.Connection, user_id: UUID, service_id: UUID, *, now: datetime
) -> list[DateOverride]:
    """The owner's overrides of the service from today on."""
    service = await get_service(conn, service_id)
    if service.provider.user_id != user_id:
        raise service_not_found()
    today = local_today(now, service.provider.zone)
    return await availability.select_overrides(conn, service.id, today)


async def _lock_override_day(
    conn: asyncpg.Connection, user_id: UUID, service_id: UUID, raw_day: str, now: datetime
) -> tuple[Service, date]:
    """The owner's service, locked, and the override's date read in the service's zone."""
    service = await lock_owned_service(conn, user_id, service_id)
    return service, parse_override_date(raw_day, local_today(now, service.provider.zone))


async def _reapply_day(
    conn: asyncpg.Connection, effects: Effects, service: Service, day: date, now: datetime
) -> None:
    """Withdraw the day's free slots and offer what its hours now allow."""
    removed = await availability.withdraw_free_slots(conn, service.id, after=now, on_day=day)
    added = await regenerate_days(conn, service, day, day, now)
    await availability.forget_passed_withdrawals(conn, now)
    _record(effects, service, removed, added)


# --- Time off ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeOffAdded:
    time_off: TimeOff
    conflicts: list[Appointment]
    zone: ZoneInfo
    effects: Effects

    def to_json(self) -> dict[str, Any]:
        return {
            "time_off": self.time_off.to_json(self.zone),
            "conflicts": [appointment.to_json() for appointment in self.conflicts],
        }


async def add_time_off(
    conn: asyncpg.Connection,
    provider: Provider,
    raw_starts: str,
    raw_ends: str,
    reason: str | None,
    *,
    now: datetime,
) -> TimeOffAdded:
    """Close the whole business over a span: every free slot overlapping it goes at once."""
    zone = ZoneInfo(provider.timezone)
    closure, reason = parse_time_off(raw_starts, raw_ends, reason, zone)
    effects = Effects()
    async with conn.transaction():
        locked = await availability.lock_provider_services(conn, provider.id)
        time_off = await availability.insert_time_off(
            conn, provider.id, closure.starts_at, closure.ends_at, reason
        )
        for service in locked:
            await _apply_closure(conn, effects, service, closure, now)
        await availability.forget_passed_withdrawals(conn, now)
        # Read after every withdrawal: a booking that held a slot's row first has committed
        # by now, so it is seen here.
        conflicts = await availability.select_upcoming_bookings(
            conn, now=now, provider_id=provider.id, overlapping=closure
        )
    return TimeOffAdded(time_off, conflicts, zone, effects)


async def remove_time_off(
    conn: asyncpg.Connection,
    provider: Provider,
    time_off_id: UUID,
    *,
    now: datetime,
) -> Effects:
    """Open the span again: its slots come back as hours, overrides and other time off allow."""
    effects = Effects()
    async with conn.transaction():
        locked = await availability.lock_provider_services(conn, provider.id)
        removed = await availability.delete_time_off(conn, provider.id, time_off_id)
        if removed is None:
            raise time_off_not_found()
        for service in locked:
            first, last = days_touched(removed.closure, service.provider.zone)
            added = await regenerate_days(conn, service, first, last, now)
            _record(effects, service, [], added)
    return effects


async def list_time_off(
    conn: asyncpg.Connection, provider: Provider, *, now: datetime
) -> list[TimeOff]:
    """The provider's time off that has not ended yet, by start."""
    return await availability.select_time_off(conn, provider.id, ending_after=now)


async def _apply_closure(
    conn: asyncpg.Connection, effects: Effects, service: Service, closure: Closure, now: datetime
) -> None:
    """Withdraw the service's free slots overlapping the span, then fill the days it touches
    as the rules now allow (a capped day may offer a later time instead)."""
    removed = await availability.withdraw_free_slots(
        conn, service.id, after=now, overlapping=closure
    )
    first, last = days_touched(closure, service.provider.zone)
    added = await regenerate_days(conn, service, first, last, now)
    _record(effects, service, removed, added)
