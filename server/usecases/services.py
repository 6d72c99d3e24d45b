"""Service use-cases: create, change and delete services, keeping their slots in step.

Every change to a service's slots happens in one short transaction; what watchers must see is
returned as `Effects` for the caller to run once that transaction has committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from server.domain.hours import parse_stored_hours
from server.domain.services import SLOT_SHAPING_FIELDS, clean_service_fields
from server.domain.slots import Closure, generate_slots, horizon_end, local_today, wall_time
from server.edge.errors import APIError
from server.models import availability, services, slots
from server.models.providers import Provider
from server.models.services import Service
from server.models.slots import Slot
from server.usecases.effects import Effects
from server.usecases.waitlist_offers import offer_freed_slots

MAX_SLOT_RANGE_DAYS = 62
DEFAULT_SLOT_RANGE_DAYS = 7
# fromisoformat also reads 20261124 and 2026-W48-2; the API promises YYYY-MM-DD only.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def service_not_found() -> APIError:
    return APIError(404, "service_not_found", "There is no such service.")


def parse_service_id(raw: str) -> UUID:
    """A path segment that is not a UUID names no service: 404, not 500."""
    try:
        return UUID(raw)
    except ValueError:
        raise service_not_found() from None


async def fill_slots(
    conn: asyncpg.Connection, service: Service, first_day: date, last_day: date, now: datetime
) -> list[Slot]:
    """Generate and insert the service's slots for the days in range, around the live rows
    already there, and record `last_day` as generated. Call inside a transaction that holds
    the service row's lock. Returns the new slots.
    """
    if first_day > last_day:
        return []
    inserted = await _insert_generated_slots(conn, service, first_day, last_day, now)
    await services.set_slots_generated_until(conn, service.id, last_day)
    return inserted


async def _insert_generated_slots(
    conn: asyncpg.Connection, service: Service, first_day: date, last_day: date, now: datetime
) -> list[Slot]:
    """Every generation goes through here, so each respects the service's buffer, its date
    overrides and the provider's time off, and every freed time reaches the waitlist (the
    slots come back `held` where someone was offered one)."""
    existing = await slots.select_live_slots_by_day(conn, service.id, first_day, last_day)
    overrides = await availability.select_override_intervals(conn, service.id, first_day, last_day)
    generated = generate_slots(
        parse_stored_hours(service.hours),
        service.duration_minutes,
        service.max_appointments_per_day,
        service.provider.zone,
        first_day,
        last_day,
        now,
        existing,
        buffer_minutes=service.buffer_minutes,
        overrides=overrides,
        closures=await _closures(conn, service, first_day, last_day),
    )
    inserted = await slots.insert_slots(conn, service.id, generated)
    # A time that comes (back) is offered to its day's waitlist first, in this transaction.
    return await offer_freed_slots(conn, service, inserted, now)


async def _closures(
    conn: asyncpg.Connection, service: Service, first_day: date, last_day: date
) -> list[Closure]:
    """The provider's time off that could touch a slot of these days."""
    zone = service.provider.zone
    found = await availability.select_time_off(
        conn,
        service.provider.id,
        ending_after=wall_time(first_day, 0, zone) - timedelta(days=1),
        starting_before=wall_time(last_day, 0, zone) + timedelta(days=2),
    )
    return [time_off.closure for time_off in found]


async def regenerate_days(
    conn: asyncpg.Connection, service: Service, first_day: date, last_day: date, now: datetime
) -> list[Slot]:
    """Offer again what the rules allow on these days, around the rows already there; only
    days already generated (the top-up does the rest). Hold the service row's lock."""
    generated_until = service.slots_generated_until
    if generated_until is None:
        return []
    first = max(first_day, local_today(now, service.provider.zone))
    last = min(last_day, generated_until)
    if first > last:
        return []
    return await _insert_generated_slots(conn, service, first, last, now)


async def refill_day(
    conn: asyncpg.Connection, service_id: UUID, day: date, now: datetime
) -> list[Slot]:
    """Offer again whatever the day's hours allow now that a booking gave its time back.

    Run inside the transaction that cancelled the booking. The service row is locked first so
    a concurrent regeneration or top-up of the same service cannot interleave. Days past the
    generated horizon are left to the top-up, and an inactive service offers nothing new.
    """
    service = await services.lock_service(conn, service_id)
    if service is None or not service.is_active:
        return []
    generated_until = service.slots_generated_until
    if generated_until is None or day > generated_until:
        return []
    return await _insert_generated_slots(conn, service, day, day, now)


@dataclass(frozen=True)
class ServiceChange:
    """A service as a write left it, and what its slots' watchers must hear after the commit."""

    service: Service
    effects: Effects


async def create_service(
    conn: asyncpg.Connection,
    provider: Provider,
    raw: dict[str, Any],
    *,
    now: datetime,
    horizon_days: int,
) -> ServiceChange:
    """Create a service and, in the same transaction, its slots for the whole horizon (its own
    `horizon_days`, else `horizon_days`: SLOT_HORIZON_DAYS)."""
    fields = clean_service_fields(raw, creating=True)
    async with conn.transaction():
        service_id = await services.insert_service(conn, provider.id, fields)
        service = await services.lock_service(conn, service_id)
        assert service is not None
        today = local_today(now, service.provider.zone)
        last_day = horizon_end(today, service.horizon(horizon_days))
        added = await fill_slots(conn, service, today, last_day, now)
    effects = Effects()
    effects.slots_changed(service.id, service.provider.zone, changed=added)
    return ServiceChange(service, effects)


async def lock_owned_service(conn: asyncpg.Connection, user_id: UUID, service_id: UUID) -> Service:
    """The caller's own active service, locked; anyone else's is reported as not there."""
    service = await services.lock_service(conn, service_id)
    if service is None or not service.is_active or service.provider.user_id != user_id:
        raise service_not_found()
    return service


async def update_service(
    conn: asyncpg.Connection,
    user_id: UUID,
    service_id: UUID,
    raw: dict[str, Any],
    *,
    now: datetime,
    horizon_days: int,
) -> ServiceChange:
    """Change any subset of a service's fields. When the hours, duration, daily cap, buffer or
    horizon change, future free slots are replaced; past and booked slots are never touched.
    A new minimum notice changes which slots show available: watchers get a new snapshot.
    """
    removed: list[Slot] = []
    added: list[Slot] = []
    async with conn.transaction():
        before = await lock_owned_service(conn, user_id, service_id)
        changes = clean_service_fields(raw, creating=False)
        await services.update_service(conn, service_id, changes)
        after = await services.select_service(conn, service_id)
        assert after is not None
        if _reshapes_slots(before, after, changes):
            removed = await slots.delete_future_free_slots(conn, service_id, now)
            today = local_today(now, after.provider.zone)
            last_day = horizon_end(today, after.horizon(horizon_days))
            added = await fill_slots(conn, after, today, last_day, now)
    effects = Effects()
    effects.slots_changed(
        service_id,
        after.provider.zone,
        changed=added,
        removed=removed_for_good(removed, added),
        reset=before.min_notice_minutes != after.min_notice_minutes,
    )
    return ServiceChange(after, effects)


def removed_for_good(removed: list[Slot], added: list[Slot]) -> list[Slot]:
    """Removed slots whose time no new slot took: a time that is offered again is a change,
    not a removal, for clients that key slots by start time."""
    offered = {slot.starts_at for slot in added}
    return [slot for slot in removed if slot.starts_at not in offered]


def _reshapes_slots(before: Service, after: Service, changes: dict[str, Any]) -> bool:
    return any(
        getattr(before, field) != getattr(after, field)
        for field in SLOT_SHAPING_FIELDS & changes.keys()
    )


async def delete_service(
    conn: asyncpg.Connection, user_id: UUID, service_id: UUID, *, now: datetime
) -> Effects:
    """Stop listing and offering the service; its future free slots go, bookings stay. Returns
    what its watchers must hear after the commit."""
    async with conn.transaction():
        service = await lock_owned_service(conn, user_id, service_id)
        await services.deactivate_service(conn, service_id)
        removed = await slots.delete_future_free_slots(conn, service_id, now)
    effects = Effects()
    effects.slots_changed(service_id, service.provider.zone, removed=removed)
    return effects


async def get_service(conn: asyncpg.Connection, service_id: UUID) -> Service:
    service = await services.select_service(conn, service_id)
    if service is None:
        raise service_not_found()
    return service


def _parse_day(raw: str, name: str) -> date:
    try:
        if not _ISO_DAY.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise APIError(
            422,
            "invalid_date",
            f"{name} must be a date like 2026-11-24.",
            fields={name: "A date in the form YYYY-MM-DD."},
        ) from None


def _days_after(first: date, days: int) -> date:
    # Near date.max there are no later days to add; the range just ends there.
    return first + timedelta(min(days, (date.max - first).days))


def slot_date_range(raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """The requested days: from defaults to today, to to a week from `from`; 62 days at most."""
    # Left out means the default; given but empty is not a date.
    first = today if raw_from is None else _parse_day(raw_from, "from")
    last = (
        _days_after(first, DEFAULT_SLOT_RANGE_DAYS - 1)
        if raw_to is None
        else _parse_day(raw_to, "to")
    )
    if last < first:
        raise APIError(
            422, "invalid_range", "`to` is before `from`.", fields={"to": "On or after from."}
        )
    if (last - first).days + 1 > MAX_SLOT_RANGE_DAYS:
        raise APIError(
            422,
            "range_too_long",
            f"Ask for at most {MAX_SLOT_RANGE_DAYS} days at a time.",
            fields={"to": f"At most {MAX_SLOT_RANGE_DAYS} days after from."},
        )
    return first, last


async def list_slots(
    conn: asyncpg.Connection,
    service_id: UUID,
    raw_from: str | None,
    raw_to: str | None,
    *,
    now: datetime,
) -> str:
    """The service's live slots (free and booked) in a range of its provider's days, as a JSON
    array of the contract's Slot (times in the provider's zone)."""
    service = await get_service(conn, service_id)
    today = local_today(now, service.provider.zone)
    first, last = slot_date_range(raw_from, raw_to, today)
    zone = service.provider.timezone
    return await slots.select_slots_json(conn, service_id, first, last, zone, now=now)
