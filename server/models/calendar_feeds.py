"""The provider's calendar feed (sql/0018 calendar_feeds): its nonce and token hash, and the
appointments it lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class FeedRow:
    provider_id: UUID
    nonce: str


async def select_feed(conn: asyncpg.Connection, provider_id: UUID) -> FeedRow | None:
    row = await conn.fetchrow(
        "SELECT provider_id, nonce FROM calendar_feeds WHERE provider_id = $1", provider_id
    )
    return None if row is None else FeedRow(**dict(row))


async def upsert_feed(
    conn: asyncpg.Connection, provider_id: UUID, nonce: str, token_hash: str, *, replace: bool
) -> FeedRow:
    """Insert the feed; an existing one is kept (replace=False) or given the new token."""
    conflict = (
        "DO UPDATE SET nonce = excluded.nonce, token_hash = excluded.token_hash, created_at = now()"
        if replace
        else "DO UPDATE SET provider_id = calendar_feeds.provider_id"
    )
    row = await conn.fetchrow(
        f"""
        INSERT INTO calendar_feeds (provider_id, nonce, token_hash)
        VALUES ($1, $2, $3)
        ON CONFLICT (provider_id) {conflict}
        RETURNING provider_id, nonce
        """,
        provider_id,
        nonce,
        token_hash,
    )
    return FeedRow(**dict(row))


async def update_hash(conn: asyncpg.Connection, provider_id: UUID, token_hash: str) -> None:
    await conn.execute(
        "UPDATE calendar_feeds SET token_hash = $2 WHERE provider_id = $1", provider_id, token_hash
    )


async def provider_of_token(conn: asyncpg.Connection, token_hash: str) -> UUID | None:
    found: UUID | None = await conn.fetchval(
        "SELECT provider_id FROM calendar_feeds WHERE token_hash = $1", token_hash
    )
    return found


@dataclass(frozen=True)
class FeedEntry:
    id: UUID
    ical_uid: str | None
    ical_sequence: int
    starts_at: datetime
    ends_at: datetime
    status: str
    customer_name: str
    notes: str | None
    service_name: str
    location: str | None
    updated_at: datetime


async def select_feed_entries(
    conn: asyncpg.Connection, provider_id: UUID, since: datetime
) -> list[FeedEntry]:
    """The provider's pending and confirmed appointments ending after `since`, by start."""
    rows = await conn.fetch(
        """
        SELECT a.id, a.ical_uid, a.ical_sequence, a.starts_at, a.ends_at, a.status,
               a.customer_name, a.notes, s.name AS service_name, s.location, a.updated_at
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
         WHERE s.provider_id = $1
           AND a.booked
           AND a.status IN ('PENDING', 'CONFIRMED')
           AND a.ends_at > $2
         ORDER BY a.starts_at, a.id
        """,
        provider_id,
        since,
    )
    return [FeedEntry(**dict(row)) for row in rows]


async def feed_version(conn: asyncpg.Connection, provider_id: UUID) -> datetime | None:
    """When the provider's feed last changed: the latest update of any of their booked
    appointments (a cancellation drops one out, and updates its row too), or of the feed."""
    found: datetime | None = await conn.fetchval(
        """
        SELECT greatest(
                   (SELECT max(a.updated_at)
                      FROM appointments AS a
                      JOIN services AS s ON s.id = a.service_id
                     WHERE s.provider_id = $1 AND a.booked),
                   (SELECT created_at FROM calendar_feeds WHERE provider_id = $1)
               )
        """,
        provider_id,
    )
    return found
