"""Busy times: intervals in which a provider is taken elsewhere (an outside calendar's events),
each row owned by one `source` ('ics:<busy calendar id>', 'caldav'), replaced whole per sync."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

Interval = tuple[datetime, datetime]


def busy(row: str) -> str:
    """SQL true when the slot row `row` (a table name or alias of `appointments`) overlaps a busy
    time of its service's provider (sql/0018)."""
    return f"""EXISTS (
        SELECT 1
          FROM busy_times AS busy
          JOIN services AS busy_service ON busy_service.provider_id = busy.provider_id
         WHERE busy_service.id = {row}.service_id
           AND busy.starts_at < {row}.ends_at
           AND busy.ends_at > {row}.starts_at
    )"""


def busy_for_provider(row: str, provider_id: str) -> str:
    """`busy(row)` for a query that already has the slot's provider id (the SQL `provider_id`):
    one index probe less per slot, which counts where every matching service is probed."""
    return f"""EXISTS (
        SELECT 1
          FROM busy_times AS busy
         WHERE busy.provider_id = {provider_id}
           AND busy.starts_at < {row}.ends_at
           AND busy.ends_at > {row}.starts_at
    )"""


async def lock_provider_busy_times(conn: asyncpg.Connection, provider_id: UUID) -> None:
    """Serialize busy-time writers of one provider (two sources syncing at once) for the rest
    of the transaction, so each compares against what the other committed."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('busy_times:' || $1::uuid::text, 0))",
        provider_id,
    )


async def select_busy_union(
    conn: asyncpg.Connection, provider_id: UUID, *, since: datetime | None = None
) -> list[Interval]:
    """All of the provider's busy intervals (every source), merged and sorted."""
    rows = await conn.fetch(
        """
        SELECT starts_at, ends_at
          FROM busy_times
         WHERE provider_id = $1
           AND ($2::timestamptz IS NULL OR ends_at > $2)
         ORDER BY starts_at, ends_at
        """,
        provider_id,
        since,
    )
    return merge_intervals([(row["starts_at"], row["ends_at"]) for row in rows])


async def replace_source(
    conn: asyncpg.Connection, provider_id: UUID, source: str, intervals: Sequence[Interval]
) -> None:
    """The source's rows become exactly `intervals`."""
    await conn.execute(
        "DELETE FROM busy_times WHERE provider_id = $1 AND source = $2", provider_id, source
    )
    if intervals:
        await conn.execute(
            """
            INSERT INTO busy_times (provider_id, source, starts_at, ends_at)
            SELECT $1, $2, starts_at, ends_at
              FROM unnest($3::timestamptz[], $4::timestamptz[]) AS given (starts_at, ends_at)
            """,
            provider_id,
            source,
            [start for start, _ in intervals],
            [end for _, end in intervals],
        )


def merge_intervals(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


async def select_busy_overlaps(
    conn: asyncpg.Connection, provider_id: UUID, appointment_ids: Sequence[UUID]
) -> set[UUID]:
    """Which of these booked appointments overlap one of the provider's busy times (they are
    kept; the dashboard flags them)."""
    if not appointment_ids:
        return set()
    rows = await conn.fetch(
        """
        SELECT a.id
          FROM appointments AS a
         WHERE a.id = ANY($2::uuid[])
           AND EXISTS (
               SELECT 1
                 FROM busy_times AS busy
                WHERE busy.provider_id = $1
                  AND busy.starts_at < a.ends_at
                  AND busy.ends_at > a.starts_at
           )
        """,
        provider_id,
        list(appointment_ids),
    )
    return {row["id"] for row in rows}
