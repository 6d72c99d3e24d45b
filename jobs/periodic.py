"""The periodic jobs. Each is safe to run twice or in two workers at once."""

from __future__ import annotations

import logging

from jobs.context import JobContext

log = logging.getLogger(__name__)


async def top_up_slots(ctx: JobContext) -> int:
    """Extend every active service's slots to SLOT_HORIZON_DAYS ahead."""
    from jobs.slots import top_up_all_services

    return await top_up_all_services(ctx["pool"], ctx["app_redis"], ctx["config"])


async def send_reminders(ctx: JobContext) -> int:
    """Queue (and have delivered) the reminders that are due; returns how many were queued."""
    from jobs.reminders import queue_and_deliver_reminders

    return await queue_and_deliver_reminders(ctx)


async def expire_holds(ctx: JobContext) -> int:
    """Free the slots of unpaid bookings whose hold ran out, and close their Checkout Sessions."""
    from jobs.payments import expire_unpaid_holds

    return await expire_unpaid_holds(ctx)


async def process_refunds(ctx: JobContext) -> int:
    """Make the refunds that are due: new requests, and failed ones whose backoff has passed."""
    from jobs.payments import make_due_refunds

    return await make_due_refunds(ctx)


async def expire_waitlist_offers(ctx: JobContext) -> int:
    """Pass waitlist offers that ran out to the next in line (or free their slots for all)."""
    from jobs.waitlist import expire_due_offers

    return await expire_due_offers(ctx)


async def sync_busy_calendars(ctx: JobContext) -> int:
    """Fetch the providers' busy calendars that are due and store their busy times."""
    from jobs.busy_calendars import sync_due_calendars

    return await sync_due_calendars(ctx)


async def purge_expired(ctx: JobContext) -> int:
    """Delete idempotency records past their 24 hours and clear sent secret-link bodies."""
    from jobs.purge import purge_expired as purge

    return await purge(ctx)


async def refresh_open_days(ctx: JobContext) -> int:
    """Drop the open days whose last free time was booked (sql/0024)."""
    from jobs.open_days import refresh_recent_open_days

    return await refresh_recent_open_days(ctx)


PERIODIC_JOBS = {
    "top_up_slots": top_up_slots,
    "send_reminders": send_reminders,
    "expire_holds": expire_holds,
    "process_refunds": process_refunds,
    "purge_expired": purge_expired,
    "expire_waitlist_offers": expire_waitlist_offers,
    "sync_busy_calendars": sync_busy_calendars,
    "refresh_open_days": refresh_open_days,
}
