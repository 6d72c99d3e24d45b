"""CalDAV jobs: write bookings' events out (the CalDAV outbox) and read the calendars' own
events in as busy times. Both are cron sweeps; push_caldav also runs when nudged."""

from __future__ import annotations

from jobs.context import JobContext, run_job_effects
from server.usecases.caldav import push_due, sync_calendars


async def push_caldav(ctx: JobContext) -> int:
    """Write every due booking event to its provider's CalDAV calendar; how many were."""
    return await push_due(ctx["pool"], ctx["config"])


async def sync_caldav(ctx: JobContext) -> int:
    """Read every connected CalDAV calendar's own events into the busy times (watchers of the
    provider's services see free slots go or come back); how many calendars are current."""
    synced = await sync_calendars(ctx["pool"], ctx["config"])
    await run_job_effects(ctx, synced.effects)
    return synced.calendars
