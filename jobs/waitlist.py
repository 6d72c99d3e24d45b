"""The worker's waitlist job: offers that ran out pass to the next in line.

Each offer is handled in its own short transaction (SKIP LOCKED), and its effects are run right
after that commit, so a worker killed at any moment leaves every offer either handled (and
committed) or untouched (and still due): none is lost, none is passed on twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from jobs.context import JobContext, run_job_effects
from server.usecases.waitlist_offers import expire_one_offer

log = logging.getLogger(__name__)

# One run handles at most this many offers; the next run (seconds later) goes on.
MAX_OFFERS_PER_RUN = 500


async def expire_due_offers(ctx: JobContext, now: datetime | None = None) -> int:
    """Pass on (or free) every offer that ran out by `now` (default: the clock); returns how
    many offers ended."""
    ended = 0
    async with ctx["pool"].acquire() as conn:
        while ended < MAX_OFFERS_PER_RUN:
            expired = await expire_one_offer(conn, now or datetime.now(UTC))
            if expired is None:
                break
            await run_job_effects(ctx, expired.effects)
            ended += 1
    if ended:
        log.info("passed on %d expired waitlist offers", ended)
    return ended
