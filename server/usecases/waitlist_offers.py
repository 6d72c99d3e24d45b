"""Offering freed slots to the waitlist, in the transaction that frees them.

Every way a slot becomes free ends in one place, server.usecases.services (refill after a
cancel, reject, expired hold or reschedule; regeneration after time off or an override is
removed or hours widen; the top-up), which calls `offer_freed_slots` with the rows it just
inserted. Each new row whose day has someone waiting is held for the first in line: an offer
row makes it unavailable to everyone else, and the offer's e-mail (and SMS) is queued in the
same transaction. The slots come back marked `held`, so the caller's Effects tell that day's
waitlist sockets and nudge the mailer (server.usecases.effects).

An offer that runs out, or whose customer leaves, passes to the next `waiting` entry in one
short transaction (`pass_offer_on`); with nobody left the slot becomes free for everyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.bookings import hash_manage_key, new_manage_key
from server.domain.waitlist import WaitlistStatus, offer_expiry, pair_offers
from server.edge.errors import APIError
from server.infra.config import Config
from server.models import waitlist
from server.models.services import Service
from server.models.slots import Slot
from server.notifications.outbox import DELIVERY_JOB
from server.notifications.sms import sms_enabled
from server.notifications.waitlist_messages import OfferNotice, queue_offer_messages
from server.usecases.effects import Effects

# The worker job that passes expired offers on (jobs/waitlist.py).
EXPIRE_OFFERS_JOB = "expire_waitlist_offers"


@dataclass(frozen=True)
class OfferSettings:
    """What making an offer needs from the configuration."""

    offer_minutes: int = 15
    base_url: str = "http://127.0.0.1:8000"
    sms: bool = False


class _Settings:
    """The process's offer settings. Offers are made deep inside the slot-freeing path, which
    every caller shares and none passes configuration into, so the process's composition
    points (create_app, the worker's and run-job's context) set them once at start."""

    current = OfferSettings()


def use_offer_settings(config: Config) -> None:
    _Settings.current = OfferSettings(
        offer_minutes=config.waitlist_offer_minutes,
        base_url=config.base_url,
        sms=sms_enabled(config),
    )


def offer_settings() -> OfferSettings:
    return _Settings.current


def waitlist_url(base_url: str, entry_id: UUID, key: str) -> str:
    return f"{base_url}/waitlist/{entry_id}?key={key}"


async def offer_freed_slots(
    conn: asyncpg.Connection, service: Service, freed: Sequence[Slot], now: datetime
) -> list[Slot]:
    """Hold each freed slot for the first entry waiting for its day, in the caller's
    transaction; returns `freed` with the offered ones marked `held`.

    Slots inside the service's minimum notice are left free: nobody could book them anyway;
    so are slots under one of the provider's busy times (sql/0018).
    """
    notice = timedelta(minutes=service.min_notice_minutes)
    candidates = sorted(
        (
            slot
            for slot in freed
            if not slot.booked and not slot.busy and slot.starts_at > now + notice
        ),
        key=lambda slot: slot.starts_at,
    )
    if not candidates or not service.is_active:
        return list(freed)
    days = sorted({slot.slot_date for slot in candidates})
    if not await waitlist.has_waiting(conn, service.id, days):
        return list(freed)
    waiting = await waitlist.lock_first_waiting(conn, service.id, days)
    held: set[UUID] = set()
    for day in days:
        day_slots = [slot for slot in candidates if slot.slot_date == day]
        for slot, entry in pair_offers(day_slots, waiting.get(day, [])):
            await _offer(conn, service, slot, entry, now)
            held.add(slot.id)
    return [replace(slot, held=True) if slot.id in held else slot for slot in freed]


async def _offer(
    conn: asyncpg.Connection, service: Service, slot: Slot, entry: waitlist.InLine, now: datetime
) -> None:
    settings = offer_settings()
    key = new_manage_key()
    expires_at = offer_expiry(now, settings.offer_minutes)
    await waitlist.hold_slot_for(
        conn, slot.id, entry.id, expires_at=expires_at, offer_key_hash=hash_manage_key(key), now=now
    )
    await queue_offer_messages(
        conn,
        _notice(
            entry,
            slot,
            service.name,
            service.provider.business_name,
            service.provider.zone,
            expires_at,
            waitlist_url(settings.base_url, entry.id, key),
        ),
        sms=settings.sms,
    )


def _notice(
    entry: waitlist.InLine,
    slot: Slot,
    service_name: str,
    business_name: str,
    provider_zone: ZoneInfo,
    expires_at: datetime,
    claim_url: str,
) -> OfferNotice:
    zone = ZoneInfo(entry.customer_timezone) if entry.customer_timezone else provider_zone
    return OfferNotice(
        entry_id=entry.id,
        slot_id=slot.id,
        customer_name=entry.customer_name,
        customer_email=entry.customer_email,
        customer_phone=entry.customer_phone,
        zone=zone,
        service_name=service_name,
        business_name=business_name,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        expires_at=expires_at,
        claim_url=claim_url,
    )


async def pass_offer_on(
    conn: asyncpg.Connection,
    entry: waitlist.WaitlistEntry,
    slot_id: UUID,
    ending: WaitlistStatus,
    now: datetime,
) -> Effects:
    """End the locked `entry`'s offer of `slot_id` (it `ending`: expired or left) and give the
    slot to the next entry waiting for that day, or, with nobody waiting (or the slot no
    longer bookable), to everyone. Run inside the caller's transaction."""
    effects = Effects()
    await waitlist.set_status(conn, entry.id, ending)
    effects.waitlist_changed(entry.service_id, entry.day)
    following = []
    if await waitlist.slot_is_bookable(conn, slot_id, now):
        waiting = await waitlist.lock_first_waiting(conn, entry.service_id, [entry.day], limit=1)
        following = waiting.get(entry.day, [])
    if following:
        await _pass(conn, entry, slot_id, following[0], now)
        effects.nudge(DELIVERY_JOB)
        return effects
    await waitlist.delete_offer(conn, slot_id)
    freed = await waitlist.select_slot(conn, slot_id)
    if freed is not None:
        effects.slots_changed(entry.service_id, entry.zone, changed=[freed])
    return effects


async def _pass(
    conn: asyncpg.Connection,
    entry: waitlist.WaitlistEntry,
    slot_id: UUID,
    following: waitlist.InLine,
    now: datetime,
) -> None:
    settings = offer_settings()
    key = new_manage_key()
    expires_at = offer_expiry(now, settings.offer_minutes)
    await waitlist.pass_offer(
        conn,
        slot_id,
        following.id,
        expires_at=expires_at,
        offer_key_hash=hash_manage_key(key),
        now=now,
    )
    slot = await waitlist.select_slot(conn, slot_id)
    assert slot is not None  # held by the offer row we hold
    await queue_offer_messages(
        conn,
        _notice(
            following,
            slot,
            entry.service_name,
            entry.business_name,
            entry.zone,
            expires_at,
            waitlist_url(settings.base_url, following.id, key),
        ),
        sms=settings.sms,
    )


@dataclass(frozen=True)
class ExpiredOffer:
    """One offer that ran out, passed on (or freed) in its own committed transaction."""

    entry_id: UUID
    effects: Effects


async def expire_one_offer(conn: asyncpg.Connection, now: datetime) -> ExpiredOffer | None:
    """In one short transaction: the oldest offer that ran out by `now` passes on (SKIP LOCKED,
    so two workers share the work and a claim in progress is never waited for). None when no
    offer is due."""
    async with conn.transaction():
        due = await waitlist.lock_due_offer(conn, now)
        if due is None:
            return None
        entry = await waitlist.select_entry(conn, due.entry_id)
        assert entry is not None
        effects = await pass_offer_on(conn, entry, due.slot_id, WaitlistStatus.EXPIRED, now)
    return ExpiredOffer(due.entry_id, effects)


def offer_expired() -> APIError:
    return APIError(409, "offer_expired", "This offer has ended: the time went to someone else.")


async def take_offer(conn: asyncpg.Connection, entry_id: UUID, now: datetime) -> UUID:
    """The booking side of a claim, in the booking's transaction: lock the entry and its
    offer, check the offer is still open, mark the entry booked and end the offer. Returns
    the held slot's id for the booking to claim under its row lock (as any booking)."""
    entry = await waitlist.lock_entry(conn, entry_id)
    if entry is None:
        raise APIError(404, "waitlist_entry_not_found", "There is no such waitlist entry.")
    if entry.status is WaitlistStatus.BOOKED:
        raise APIError(409, "already_booked", "You already booked this offer.")
    slot_id = await waitlist.lock_offer_of(conn, entry_id)
    if entry.status is not WaitlistStatus.OFFERED or slot_id is None or entry.offer is None:
        raise offer_expired()
    if entry.offer.expires_at <= now:
        raise offer_expired()
    await waitlist.set_status(conn, entry_id, WaitlistStatus.BOOKED, booked_appointment_id=slot_id)
    await waitlist.delete_offer(conn, slot_id)
    return slot_id


def day_of(entry: waitlist.WaitlistEntry) -> tuple[UUID, date]:
    return entry.service_id, entry.day
