"""The account_tokens table: single-use password-reset and e-mail-verification links.

Only a token's SHA-256 is stored; the token itself exists in the e-mail alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

import asyncpg

Purpose = Literal["password_reset", "verify_email"]


@dataclass(frozen=True)
class ConsumedToken:
    user_id: UUID
    email: str


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def insert_token(
    conn: asyncpg.Connection,
    *,
    purpose: Purpose,
    user_id: UUID,
    email: str,
    token: str,
    lifetime: timedelta,
) -> UUID:
    token_id: UUID = await conn.fetchval(
        """
        INSERT INTO account_tokens (purpose, user_id, email, token_hash, expires_at)
        VALUES ($1, $2, $3, $4, now() + $5::interval)
        RETURNING id
        """,
        purpose,
        user_id,
        email,
        hash_token(token),
        lifetime,
    )
    return token_id


async def consume_token(
    conn: asyncpg.Connection, purpose: Purpose, token: str
) -> ConsumedToken | None:
    """Mark the token used and say whose it was; None when unknown, used or expired.

    One UPDATE decides, so two requests racing with the same link cannot both win.
    """
    row = await conn.fetchrow(
        """
        UPDATE account_tokens
           SET used_at = now()
         WHERE token_hash = $1
           AND purpose = $2
           AND used_at IS NULL
           AND expires_at > now()
        RETURNING user_id, email
        """,
        hash_token(token),
        purpose,
    )
    return None if row is None else ConsumedToken(user_id=row["user_id"], email=row["email"])


async def delete_unused_tokens(
    conn: asyncpg.Connection, user_id: UUID, purpose: Purpose, *, keep: UUID | None = None
) -> int:
    """Retire the user's outstanding links of `purpose` (all but `keep`); how many went."""
    deleted: list[asyncpg.Record] = await conn.fetch(
        """
        DELETE FROM account_tokens
         WHERE user_id = $1
           AND purpose = $2
           AND used_at IS NULL
           AND id IS DISTINCT FROM $3
        RETURNING id
        """,
        user_id,
        purpose,
        keep,
    )
    return len(deleted)
