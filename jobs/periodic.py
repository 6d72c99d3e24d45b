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
    """Send the reminders that are due (filled in by the notifications issue)."""
    return 0


async def expire_holds(ctx: JobContext) -> int:
    """Free the slots of unpaid bookings whose hold ran out (filled in by the booking issue)."""
    return 0


PERIODIC_JOBS = {
    "top_up_slots": top_up_slots,
    "send_reminders": send_reminders,
    "expire_holds": expire_holds,
}
