"""The worker's payment jobs: freeing expired holds and making requested refunds.

Both read their work from the database, so a run is never lost work: a nudge that never
arrived is covered by the next cron sweep, and two workers running one at once share the work.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from jobs.context import JobContext, run_job_effects
from server.payments.stripe_api import stripe_outside_requests
from server.usecases.holds import close_sessions_of_ended_bookings, free_expired_holds
from server.usecases.refunds import process_due_refunds

log = logging.getLogger(__name__)


async def expire_unpaid_holds(ctx: JobContext, now: datetime | None = None) -> int:
    """Free the slots of unpaid bookings whose hold ended by `now` (default: the clock), each
    after closing its Checkout Session at Stripe, and close the sessions of unpaid bookings
    that were cancelled or rejected. Returns how many slots were freed."""
    moment = now or datetime.now(UTC)
    freed = 0
    async with stripe_outside_requests(ctx["config"]) as client:
        async for closed in close_sessions_of_ended_bookings(ctx["pool"], client, now=moment):
            await run_job_effects(ctx, closed.effects)
        async for settled in free_expired_holds(ctx["pool"], client, now=moment):
            await run_job_effects(ctx, settled.effects)
            freed += settled.freed
    if freed:
        log.info("freed %d expired holds", freed)
    return freed


async def make_due_refunds(ctx: JobContext, now: datetime | None = None) -> int:
    """Attempt the refunds that are due by `now`; returns how many succeeded."""
    async with stripe_outside_requests(ctx["config"]) as client:
        if client is None:
            log.debug("STRIPE_SECRET_KEY is not set: no refunds can be made")
            return 0
        return await process_due_refunds(ctx["pool"], client, now=now or datetime.now(UTC))
