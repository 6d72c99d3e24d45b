"""The idempotency_keys table: the first answer to each Idempotency-Key, for replaying."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

# The contract promises replays for 24 hours; older keys are forgotten (and purged).
KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    appointment_id: UUID
    response: dict[str, Any]


def lock_id(scope: str, key: str) -> int:
    """A signed 64-bit advisory-lock id for one (scope, key)."""
    digest = hashlib.sha256(f"idempotency\0{scope}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_key(conn: asyncpg.Connection, scope: str, key: str) -> None:
    """Hold the key until the transaction ends, so a concurrent retry waits for our answer
    instead of racing us for the slot (and losing with a misleading `slot_taken`)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_id(scope, key))


async def select_response(conn: asyncpg.Connection, scope: str, key: str) -> StoredResponse | None:
    row = await conn.fetchrow(
        """
        SELECT request_hash, appointment_id, response
          FROM idempotency_keys
         WHERE scope = $1
           AND key = $2
           AND created_at > now() - $3::interval
        """,
        scope,
        key,
        KEY_LIFETIME,
    )
    return None if row is None else StoredResponse(**dict(row))


async def save_response(
    conn: asyncpg.Connection,
    scope: str,
    key: str,
    *,
    request_hash: str,
    appointment_id: UUID,
    response: dict[str, Any],
) -> None:
    """Store (or, for a key older than 24 hours, replace) the answer to replay."""
    await conn.execute(
        """
        INSERT INTO idempotency_keys (scope, key, request_hash, appointment_id, response)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (scope, key) DO UPDATE
           SET request_hash = excluded.request_hash,
               appointment_id = excluded.appointment_id,
               response = excluded.response,
               created_at = now()
        """,
        scope,
        key,
        request_hash,
        appointment_id,
        response,
    )


async def update_response(
    conn: asyncpg.Connection, appointment_id: UUID, response: dict[str, Any]
) -> None:
    """Replace the stored answer for a booking (its checkout link arrived after the commit)."""
    await conn.execute(
        """
        UPDATE idempotency_keys
           SET response = $2
         WHERE appointment_id = $1
        """,
        appointment_id,
        response,
    )


async def delete_for_appointment(conn: asyncpg.Connection, appointment_id: UUID) -> None:
    """Forget the answer for a booking that was undone, so a retry books afresh."""
    await conn.execute(
        """
        DELETE FROM idempotency_keys
         WHERE appointment_id = $1
        """,
        appointment_id,
    )


async def delete_expired(conn: asyncpg.Connection) -> int:
    deleted: list[Any] = await conn.fetch(
        """
        DELETE FROM idempotency_keys
         WHERE created_at <= now() - $1::interval
        RETURNING 1
        """,
        KEY_LIFETIME,
    )
    return len(deleted)
