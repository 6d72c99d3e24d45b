"""The worker's busy-calendar sync: each calendar due (never fetched, or not for
BUSY_SYNC_MINUTES) is claimed, fetched outside any transaction, and its busy times stored;
the watchers of the provider's services hear of any change right after each commit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from jobs.context import JobContext, run_job_effects
from server.usecases.busy_calendars import claim_due_calendars, sync_calendar

log = logging.getLogger(__name__)

# Claimed per round; a run goes on until nothing is due.
BATCH = 10
MAX_PER_RUN = 500


async def sync_due_calendars(ctx: JobContext, now: datetime | None = None) -> int:
    """Sync every calendar due by `now` (default: the clock); returns how many were tried."""
    tried = 0
    async with ctx["pool"].acquire() as conn:
        while tried < MAX_PER_RUN:
            moment = now or datetime.now(UTC)
            due = await claim_due_calendars(conn, ctx["config"], moment, BATCH)
            if not due:
                break
            for calendar in due:
                effects = await sync_calendar(conn, ctx["config"], calendar, moment)
                await run_job_effects(ctx, effects)
                tried += 1
    if tried:
        log.info("synced %d busy calendars", tried)
    return tried
