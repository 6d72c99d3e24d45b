"""The provider's outside calendars (sql/0018 busy_calendars) and their sync state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = """
    id, provider_id, url, position, etag, last_modified, last_attempt_at, last_synced_at,
    last_error
"""


@dataclass(frozen=True)
class BusyCalendar:
    id: UUID
    provider_id: UUID
    url: str
    position: int
    etag: str | None
    last_modified: str | None
    last_attempt_at: datetime | None
    last_synced_at: datetime | None
    last_error: str | None

    @property
    def source(self) -> str:
        """Its name in busy_times."""
        return source_of(self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "last_synced_at": None
            if self.last_synced_at is None
            else self.last_synced_at.isoformat(),
            "last_error": self.last_error,
        }


def source_of(calendar_id: UUID) -> str:
    return f"ics:{calendar_id}"


async def select_for_provider(conn: asyncpg.Connection, provider_id: UUID) -> list[BusyCalendar]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS}
          FROM busy_calendars
         WHERE provider_id = $1
         ORDER BY position
        """,
        provider_id,
    )
    return [BusyCalendar(**dict(row)) for row in rows]


async def lock_provider_calendars(conn: asyncpg.Connection, provider_id: UUID) -> None:
    """Serialize two PUTs of the same provider's list."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('busy_calendars:' || $1::uuid::text, 0))",
        provider_id,
    )


async def replace_list(
    conn: asyncpg.Connection, provider_id: UUID, urls: Sequence[str]
) -> list[BusyCalendar]:
    """The provider's calendars become `urls`, in order; a URL already there keeps its row
    (and its busy times and sync state). Returns the rows that were removed."""
    removed = await conn.fetch(
        f"""
        DELETE FROM busy_calendars
         WHERE provider_id = $1
           AND NOT (url = ANY($2::text[]))
        RETURNING {_COLUMNS}
        """,
        provider_id,
        list(urls),
    )
    await conn.execute(
        """
        INSERT INTO busy_calendars (provider_id, url, position)
        SELECT $1, url, position - 1
          FROM unnest($2::text[]) WITH ORDINALITY AS given (url, position)
        ON CONFLICT (provider_id, url) DO UPDATE SET position = excluded.position
        """,
        provider_id,
        list(urls),
    )
    return [BusyCalendar(**dict(row)) for row in removed]


async def claim_due(
    conn: asyncpg.Connection, now: datetime, every: timedelta, limit: int
) -> list[BusyCalendar]:
    """Calendars not tried for `every` (or never), marked tried now; two workers never claim
    the same one."""
    rows = await conn.fetch(
        f"""
        WITH due AS (
            SELECT id
              FROM busy_calendars
             WHERE last_attempt_at IS NULL OR last_attempt_at <= $1::timestamptz - $2::interval
             ORDER BY last_attempt_at NULLS FIRST
             LIMIT $3
               FOR UPDATE SKIP LOCKED
        )
        UPDATE busy_calendars AS c
           SET last_attempt_at = $1
          FROM due
         WHERE c.id = due.id
        RETURNING {", ".join(f"c.{name.strip()}" for name in _COLUMNS.split(","))}
        """,
        now,
        every,
        limit,
    )
    return [BusyCalendar(**dict(row)) for row in rows]


async def record_success(
    conn: asyncpg.Connection,
    calendar_id: UUID,
    now: datetime,
    *,
    etag: str | None,
    last_modified: str | None,
) -> bool:
    """False when the calendar was removed meanwhile (then its busy times must not be kept)."""
    found = await conn.fetchval(
        """
        UPDATE busy_calendars
           SET last_synced_at = $2, last_error = NULL, etag = $3, last_modified = $4
         WHERE id = $1
        RETURNING true
        """,
        calendar_id,
        now,
        etag,
        last_modified,
    )
    return bool(found)


async def record_error(conn: asyncpg.Connection, calendar_id: UUID, message: str) -> None:
    await conn.execute(
        "UPDATE busy_calendars SET last_error = left($2, 500) WHERE id = $1",
        calendar_id,
        message,
    )
