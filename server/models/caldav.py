"""SQL for CalDAV (sql/0019): the provider's calendar account and the per-booking push queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

ACCOUNT_COLUMNS = """provider_id, url, username, password_encrypted, sync_token,
                     last_synced_at, last_error, generation"""


@dataclass(frozen=True)
class CalDAVAccount:
    provider_id: UUID
    url: str
    username: str
    password_encrypted: str
    sync_token: str | None
    last_synced_at: datetime | None
    last_error: str | None
    generation: int

    def to_json(self) -> dict[str, Any]:
        """The contract's shape: never the password, encrypted or not."""
        return {
            "url": self.url,
            "username": self.username,
            "last_synced_at": self.last_synced_at.isoformat() if self.last_synced_at else None,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class CalDAVPush:
    """A claimed "bring this booking's event up to date" row."""

    appointment_id: UUID
    provider_id: UUID
    version: int
    attempts: int
    lease_token: UUID


async def upsert_account(
    conn: asyncpg.Connection, provider_id: UUID, url: str, username: str, password_encrypted: str
) -> CalDAVAccount:
    """Set the provider's calendar; a new one starts without sync state or errors."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO caldav_accounts (provider_id, url, username, password_encrypted)
        VALUES ($1, $2, $3, $4)
            ON CONFLICT (provider_id) DO UPDATE
           SET url = EXCLUDED.url,
               username = EXCLUDED.username,
               password_encrypted = EXCLUDED.password_encrypted,
               sync_token = NULL,
               last_synced_at = NULL,
               last_error = NULL,
               generation = caldav_accounts.generation + 1,
               updated_at = now()
        RETURNING {ACCOUNT_COLUMNS}
        """,
        provider_id,
        url,
        username,
        password_encrypted,
    )
    return CalDAVAccount(**dict(row))


async def select_account(conn: asyncpg.Connection, provider_id: UUID) -> CalDAVAccount | None:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM caldav_accounts WHERE provider_id = $1", provider_id
    )
    return CalDAVAccount(**dict(row)) if row else None


async def select_accounts(conn: asyncpg.Connection) -> list[CalDAVAccount]:
    """Every connected calendar, the longest unsynced first."""
    rows = await conn.fetch(
        f"""
        SELECT {ACCOUNT_COLUMNS}
          FROM caldav_accounts
         ORDER BY last_synced_at NULLS FIRST
        """
    )
    return [CalDAVAccount(**dict(row)) for row in rows]


async def delete_account(conn: asyncpg.Connection, provider_id: UUID) -> bool:
    """Forget the calendar and what was waiting to be written to it; False when none."""
    await conn.execute("DELETE FROM caldav_pushes WHERE provider_id = $1", provider_id)
    deleted: UUID | None = await conn.fetchval(
        "DELETE FROM caldav_accounts WHERE provider_id = $1 RETURNING provider_id", provider_id
    )
    return deleted is not None


async def record_sync(
    conn: asyncpg.Connection,
    account: CalDAVAccount,
    *,
    now: datetime,
    sync_token: str | None = None,
    error: str | None = None,
) -> None:
    """The outcome of a sync or a push, unless the account was replaced meanwhile. A success
    clears last_error and moves last_synced_at; a failure keeps both times and the token."""
    await conn.execute(
        """
        UPDATE caldav_accounts
           SET last_error = $3,
               last_synced_at = CASE WHEN $3::text IS NULL THEN $4 ELSE last_synced_at END,
               sync_token = CASE WHEN $3::text IS NULL THEN $5 ELSE sync_token END
         WHERE provider_id = $1
           AND generation = $2
        """,
        account.provider_id,
        account.generation,
        error[:500] if error else None,
        now,
        sync_token,
    )


async def record_check(conn: asyncpg.Connection, account: CalDAVAccount, error: str | None) -> None:
    """What connecting just now said (the panel's "Test"): only last_error changes."""
    await conn.execute(
        """
        UPDATE caldav_accounts
           SET last_error = $3
         WHERE provider_id = $1
           AND generation = $2
        """,
        account.provider_id,
        account.generation,
        error[:500] if error else None,
    )


async def queue_push(conn: asyncpg.Connection, appointment_id: UUID, provider_id: UUID) -> None:
    """In the change's transaction: the booking's event must be rewritten, now (a row already
    waiting is due again and its `version` grows, so a run holding the old one keeps it)."""
    await conn.execute(
        """
        INSERT INTO caldav_pushes (appointment_id, provider_id)
        SELECT $1, $2
         WHERE EXISTS (SELECT 1 FROM caldav_accounts WHERE provider_id = $2)
            ON CONFLICT (appointment_id) DO UPDATE
           SET version = caldav_pushes.version + 1,
               next_attempt_at = now(),
               attempts = 0
        """,
        appointment_id,
        provider_id,
    )


async def claim_pushes(
    conn: asyncpg.Connection, now: datetime, *, token: UUID, lease: timedelta, limit: int
) -> list[CalDAVPush]:
    """Lease up to `limit` due rows nobody else holds (two workers never take the same)."""
    rows = await conn.fetch(
        """
        UPDATE caldav_pushes AS p
           SET locked_until = $2,
               lease_token = $4,
               attempts = p.attempts + 1
          FROM (SELECT appointment_id
                  FROM caldav_pushes
                 WHERE next_attempt_at <= $1
                   AND (locked_until IS NULL OR locked_until <= $1)
                 ORDER BY next_attempt_at
                 LIMIT $3
                   FOR UPDATE SKIP LOCKED) AS due
         WHERE p.appointment_id = due.appointment_id
        RETURNING p.appointment_id, p.provider_id, p.version, p.attempts, p.lease_token
        """,
        now,
        now + lease,
        limit,
        token,
    )
    return [CalDAVPush(**dict(row)) for row in rows]


async def finish_push(conn: asyncpg.Connection, push: CalDAVPush) -> None:
    """Written: the row goes, unless a change queued meanwhile (a higher version) must follow."""
    await conn.execute(
        """
        DELETE FROM caldav_pushes
         WHERE appointment_id = $1
           AND lease_token = $2
           AND version = $3
        """,
        push.appointment_id,
        push.lease_token,
        push.version,
    )
    await conn.execute(
        """
        UPDATE caldav_pushes
           SET locked_until = NULL,
               lease_token = NULL
         WHERE appointment_id = $1
           AND lease_token = $2
        """,
        push.appointment_id,
        push.lease_token,
    )


async def retry_push(
    conn: asyncpg.Connection, push: CalDAVPush, error: str, next_attempt_at: datetime
) -> None:
    """Not written: try again at `next_attempt_at` (only while the lease is still ours)."""
    await conn.execute(
        """
        UPDATE caldav_pushes
           SET next_attempt_at = $3,
               locked_until = NULL,
               lease_token = NULL,
               last_error = $4
         WHERE appointment_id = $1
           AND lease_token = $2
        """,
        push.appointment_id,
        push.lease_token,
        next_attempt_at,
        error[:500],
    )


async def select_our_uids(conn: asyncpg.Connection, provider_id: UUID) -> set[str]:
    """The UIDs of the provider's bookings: events with these are ours, never busy times."""
    rows = await conn.fetch(
        """
        SELECT a.ical_uid
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
         WHERE s.provider_id = $1
           AND a.ical_uid IS NOT NULL
        """,
        provider_id,
    )
    return {row["ical_uid"] for row in rows}
