"""Dropping the open days (sql/0024) whose free times were booked: run every minute by the
worker, and by `appointly run-job refresh_open_days`.

A booking never writes to its service's row (that would serialize bookings of one service),
so the day whose last free time it took stays among the service's open days until this job
recounts the services booked in the last few minutes. Meanwhile `available_on` probes that
service's slots as before: a day too many costs a probe, never a wrong answer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from jobs.context import JobContext
from server.models.open_days import refresh_open_days, select_services_booked_since

log = logging.getLogger(__name__)

# How far back bookings are looked at: past the minute between runs, so a late run misses none.
LOOK_BACK = timedelta(minutes=5)
# Services recounted in one transaction.
BATCH = 500


async def refresh_recent_open_days(ctx: JobContext, now: datetime | None = None) -> int:
    """Recount the open days of the services booked in the last LOOK_BACK; returns how many
    services' days changed. Days on which no slot can start any more go too."""
    now = now or datetime.now(UTC)
    changed = 0
    async with ctx["pool"].acquire() as conn:
        booked = await select_services_booked_since(conn, now - LOOK_BACK)
        for start in range(0, len(booked), BATCH):
            changed += await refresh_open_days(conn, booked[start : start + BATCH])
    if changed:
        log.info("recounted the open days of %d services", changed)
    return changed
