"""The customer's side of the waitlist: join a full day, see one's place, leave, and claim an
offer (booked like any booking: server.usecases.bookings).

Offers themselves are made where slots are freed (server.usecases.waitlist_offers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

import asyncpg

from server.domain.bookings import (
    CustomerDetails,
    hash_manage_key,
    manage_key_matches,
    new_manage_key,
)
from server.domain.slots import horizon_end, local_today
from server.domain.waitlist import WaitlistStatus, may_join_on
from server.edge.errors import APIError
from server.infra.config import Config
from server.models import services, waitlist
from server.models.waitlist import WaitlistEntry
from server.usecases.bookings import BookingOutcome, BookingRequest, Database, book
from server.usecases.effects import Effects
from server.usecases.services import service_not_found
from server.usecases.waitlist_offers import (
    EXPIRE_OFFERS_JOB,
    pass_offer_on,
    waitlist_url,
)


def entry_not_found() -> APIError:
    return APIError(404, "waitlist_entry_not_found", "There is no such waitlist entry.")


def parse_entry_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise entry_not_found() from None


@dataclass(frozen=True)
class Joined:
    entry: WaitlistEntry
    manage_url: str


async def join_waitlist(
    conn: asyncpg.Connection,
    service_id: UUID,
    day: date,
    describe_customer: Callable[[], CustomerDetails],
    *,
    customer_user_id: UUID | None,
    settings: Config,
    now: datetime,
) -> Joined:
    """Put the customer in line for a day of the service that has no bookable slot left: 409
    `slots_available` while one is left, `already_waiting` for a second place in one line.

    The service and the day are checked before `describe_customer` reads the customer's
    details (422 for a bad one): there is no point correcting a form for a day one cannot
    wait for."""
    key = new_manage_key()
    async with conn.transaction():
        service = await _share_lock_service(conn, service_id)
        today = local_today(now, service.provider.zone)
        last_day = horizon_end(today, service.horizon(settings.slot_horizon_days))
        if not may_join_on(day, today, last_day):
            raise APIError(
                409,
                "date_outside_horizon",
                f"Bookings for this service open from {today} to {last_day}: join the waitlist "
                "for a day between them.",
            )
        if await waitlist.has_bookable_slot(conn, service.id, day, now, service.min_notice_minutes):
            raise APIError(
                409,
                "slots_available",
                "That day still has free times: book one of them instead.",
            )
        entry_id = await waitlist.insert_entry(
            conn,
            service_id,
            day,
            describe_customer(),
            customer_user_id=customer_user_id,
            manage_key_hash=hash_manage_key(key),
        )
        if entry_id is None:
            raise APIError(409, "already_waiting", "You are already on the waitlist for that day.")
        entry = await waitlist.select_entry(conn, entry_id)
        assert entry is not None
    return Joined(entry, waitlist_url(settings.base_url, entry.id, key))


async def _share_lock_service(conn: asyncpg.Connection, service_id: UUID) -> services.Service:
    """The active service, its row share-locked: a refill or regeneration of its slots (which
    lock it for update) commits before or after this join, never beside it, so a time freed
    meanwhile is either seen here (409 slots_available) or offered to this entry."""
    found = await conn.fetchval(
        "SELECT id FROM services WHERE id = $1 AND is_active FOR SHARE", service_id
    )
    service = None if found is None else await services.select_service(conn, service_id)
    if service is None:
        raise service_not_found()
    return service


def may_manage(entry: WaitlistEntry, *, key: str | None, user_id: UUID | None) -> bool:
    """The entry's customer: the holder of its key (from the join or an offer's e-mail), or
    the account that joined."""
    if user_id is not None and entry.customer_user_id == user_id:
        return True
    return manage_key_matches(key, entry.manage_key_hash) or manage_key_matches(
        key, entry.offer_key_hash
    )


async def get_entry(
    conn: asyncpg.Connection, entry_id: UUID, *, key: str | None, user_id: UUID | None
) -> WaitlistEntry:
    entry = await waitlist.select_entry(conn, entry_id)
    if entry is None or not may_manage(entry, key=key, user_id=user_id):
        raise entry_not_found()
    return entry


@dataclass(frozen=True)
class Left:
    entry: WaitlistEntry
    effects: Effects = field(default_factory=Effects)


async def leave_waitlist(
    conn: asyncpg.Connection,
    entry_id: UUID,
    *,
    key: str | None,
    user_id: UUID | None,
    now: datetime,
) -> Left:
    """Leave the line (status `left`); an open offer passes on at once. Leaving twice is the
    same as once; a booked or expired entry is no longer in line (409 `not_in_line`)."""
    async with conn.transaction():
        entry = await waitlist.lock_entry(conn, entry_id)
        if entry is None or not may_manage(entry, key=key, user_id=user_id):
            raise entry_not_found()
        effects = Effects()
        if entry.status is WaitlistStatus.WAITING:
            await waitlist.set_status(conn, entry.id, WaitlistStatus.LEFT)
            effects.waitlist_changed(entry.service_id, entry.day)  # the ones behind move up
        elif entry.status is WaitlistStatus.OFFERED:
            slot_id = await waitlist.lock_offer_of(conn, entry.id)
            if slot_id is None:  # its slot went away: nothing to pass on
                await waitlist.set_status(conn, entry.id, WaitlistStatus.LEFT)
                effects.waitlist_changed(entry.service_id, entry.day)
            else:
                effects = await pass_offer_on(conn, entry, slot_id, WaitlistStatus.LEFT, now)
        elif entry.status is not WaitlistStatus.LEFT:
            raise APIError(409, "not_in_line", "This entry is no longer on the waitlist.")
        after = await waitlist.select_entry(conn, entry.id)
        assert after is not None
    return Left(after, effects)


async def claim_offer(
    database: Database,
    entry_id: UUID,
    *,
    key: str | None,
    user_id: UUID | None,
    settings: Config,
    now: datetime,
) -> BookingOutcome:
    """Book the slot held for the entry, as POST /api/bookings would (PENDING, a checkout for a
    paid service); 409 `offer_expired` when the offer has ended. Run the outcome's effects,
    then raise its error if it has one."""
    conn = await database.connection()
    entry = await get_entry(conn, entry_id, key=key, user_id=user_id)
    request = BookingRequest(
        customer=CustomerDetails(
            name=entry.customer_name,
            email=entry.customer_email,
            phone=entry.customer_phone,
            notes=None,
            timezone=entry.customer_timezone,
        ),
        waitlist_entry_id=entry.id,
    )
    try:
        outcome = await book(
            database,
            request,
            customer_user_id=entry.customer_user_id or user_id,
            idempotency_key=None,
            settings=settings,
            now=now,
        )
    except APIError as error:
        if error.code != "offer_expired":
            raise
        # Passing it on is the sweep's work: ask for it now rather than at its next run.
        effects = Effects()
        effects.nudge(EXPIRE_OFFERS_JOB)
        return BookingOutcome(409, {}, effects, error=error)
    outcome.effects.waitlist_changed(entry.service_id, entry.day)
    return outcome


async def provider_day(
    conn: asyncpg.Connection, provider_id: UUID, day: date, *, days: int
) -> tuple[list[WaitlistEntry], dict[date, int]]:
    """Who is in line for `day` (all the provider's services), and how many wait on each of
    the `days` days from `day` on."""
    entries = await waitlist.select_day_entries(conn, provider_id, day)
    last = date.fromordinal(day.toordinal() + days - 1)
    counts = await waitlist.count_waiting_by_day(conn, provider_id, day, last)
    return entries, counts
