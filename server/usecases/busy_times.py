"""Busy times from the provider's own calendars: the one way to write them.

Each source (an iCal feed 'ics:<id>', the CalDAV calendar 'caldav') replaces its own rows whole
in one transaction. When what the provider is busy with changed, every service of theirs is
resnapshotted for its watchers after the commit: free slots overlapping busy time show
`available: false` (and are refused), and come back when the busy time goes, offered to their
day's waitlist first, as any freed time is. Booked appointments are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.models import busy_times, services, slots
from server.models.busy_times import Interval
from server.models.slots import Slot
from server.usecases.effects import Effects
from server.usecases.waitlist_offers import offer_freed_slots


async def replace_busy_times(
    conn: asyncpg.Connection,
    provider_id: UUID,
    source: str,
    intervals: Sequence[Interval],
    now: datetime,
) -> Effects:
    """The source's busy intervals become `intervals` (aware datetimes); returns what watchers
    must see (a snapshot of each of the provider's services when anything changed from `now`
    on). Runs its own transaction, or joins the caller's."""
    effects = Effects()
    kept = [(start, end) for start, end in intervals if end > start]
    async with conn.transaction():
        await busy_times.lock_provider_busy_times(conn, provider_id)
        before = await busy_times.select_busy_union(conn, provider_id, since=now)
        await busy_times.replace_source(conn, provider_id, source, kept)
        after = await busy_times.select_busy_union(conn, provider_id, since=now)
        if before != after:
            await _busy_times_changed(conn, effects, provider_id, before, now)
    return effects


async def clear_busy_source(
    conn: asyncpg.Connection, provider_id: UUID, source: str, now: datetime
) -> Effects:
    """Forget every busy interval of `source` (a calendar removed or disconnected)."""
    effects = Effects()
    async with conn.transaction():
        await busy_times.lock_provider_busy_times(conn, provider_id)
        before = await busy_times.select_busy_union(conn, provider_id, since=now)
        gone = await conn.fetchval(
            """
            WITH gone AS (
                DELETE FROM busy_times WHERE provider_id = $1 AND source = $2 RETURNING 1
            )
            SELECT count(*) FROM gone
            """,
            provider_id,
            source,
        )
        if gone:
            await _busy_times_changed(conn, effects, provider_id, before, now)
    return effects


async def _busy_times_changed(
    conn: asyncpg.Connection,
    effects: Effects,
    provider_id: UUID,
    busy_before: Sequence[Interval],
    now: datetime,
) -> None:
    """Every service of the provider resnapshotted for its watchers; the free slots that were
    under a busy time and no longer are offered to their day's waitlist first. Each service
    row is locked as a refill locks it, so a customer joining a line meanwhile either sees
    the time free or is offered it (server.usecases.waitlist.join_waitlist)."""
    rows = await conn.fetch(
        """
        SELECT s.id, p.timezone
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.provider_id = $1
         ORDER BY s.id
        """,
        provider_id,
    )
    for row in rows:
        offered: list[Slot] = []
        # Nothing was busy before: nothing comes back, and no service row needs its lock.
        service = await services.lock_service(conn, row["id"]) if busy_before else None
        if service is not None:
            freed = await slots.select_free_slots_within(conn, service.id, busy_before)
            offered = await offer_freed_slots(conn, service, freed, now)
        effects.slots_changed(
            row["id"],
            ZoneInfo(row["timezone"]),
            changed=[slot for slot in offered if slot.held],
            reset=True,
        )
