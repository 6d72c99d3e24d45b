"""Busy times from the provider's own calendars: the one way to write them.

Each source (an iCal feed 'ics:<id>', the CalDAV calendar 'caldav') replaces its own rows whole
in one transaction. When what the provider is busy with changed, every service of theirs is
resnapshotted for its watchers after the commit: free slots overlapping busy time show
`available: false` (and are refused), and come back when the busy time goes. Booked
appointments are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.models import busy_times
from server.models.busy_times import Interval
from server.usecases.effects import Effects


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
            await _resnapshot_services(conn, effects, provider_id)
    return effects


async def clear_busy_source(conn: asyncpg.Connection, provider_id: UUID, source: str) -> Effects:
    """Forget every busy interval of `source` (a calendar removed or disconnected)."""
    effects = Effects()
    async with conn.transaction():
        await busy_times.lock_provider_busy_times(conn, provider_id)
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
            await _resnapshot_services(conn, effects, provider_id)
    return effects


async def _resnapshot_services(
    conn: asyncpg.Connection, effects: Effects, provider_id: UUID
) -> None:
    rows = await conn.fetch(
        """
        SELECT s.id, p.timezone
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.provider_id = $1
        """,
        provider_id,
    )
    for row in rows:
        effects.slots_changed(row["id"], ZoneInfo(row["timezone"]), reset=True)
