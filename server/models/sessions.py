"""Server-side sessions: the cookie names one of these rows, so deleting it signs the user out."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg

SESSION_LIFETIME = timedelta(days=30)


async def insert_session(conn: asyncpg.Connection, user_id: UUID) -> UUID:
    session_id: UUID = await conn.fetchval(
        """
        INSERT INTO sessions (user_id, expires_at)
        VALUES ($1, now() + $2::interval)
        RETURNING id
        """,
        user_id,
        SESSION_LIFETIME,
    )
    return session_id


async def select_session_user_id(conn: asyncpg.Connection, session_id: UUID) -> UUID | None:
    user_id: UUID | None = await conn.fetchval(
        """
        SELECT user_id
          FROM sessions
         WHERE id = $1
           AND expires_at > now()
        """,
        session_id,
    )
    return user_id


async def delete_session(conn: asyncpg.Connection, session_id: UUID) -> UUID | None:
    """End one session; the user it signed in (None if it was gone already)."""
    user_id: UUID | None = await conn.fetchval(
        """
        DELETE FROM sessions
         WHERE id = $1
        RETURNING user_id
        """,
        session_id,
    )
    return user_id


async def delete_user_sessions(
    conn: asyncpg.Connection, user_id: UUID, *, keep: UUID | None = None
) -> int:
    """Sign the user out everywhere except session `keep`; how many sessions ended."""
    deleted: list[asyncpg.Record] = await conn.fetch(
        """
        DELETE FROM sessions
         WHERE user_id = $1
           AND id IS DISTINCT FROM $2
        RETURNING id
        """,
        user_id,
        keep,
    )
    return len(deleted)
