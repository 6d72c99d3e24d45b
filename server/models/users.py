"""The users table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

_USER_COLUMNS = """
    users.id,
    users.email,
    users.name,
    users.email_verified,
    users.created_at,
    EXISTS (SELECT 1 FROM providers WHERE providers.user_id = users.id) AS is_provider
"""


@dataclass(frozen=True)
class User:
    id: UUID
    email: str
    name: str
    is_provider: bool
    created_at: datetime
    email_verified: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "name": self.name,
            "is_provider": self.is_provider,
            "email_verified": self.email_verified,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Credentials:
    user_id: UUID
    password_hash: str | None


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        is_provider=row["is_provider"],
        created_at=row["created_at"],
        email_verified=row["email_verified"],
    )


async def insert_user(
    conn: asyncpg.Connection,
    *,
    email: str,
    name: str,
    password_hash: str | None = None,
    google_subject: str | None = None,
) -> User:
    """Create a user; raises asyncpg.UniqueViolationError when the email is taken."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO users (email, name, password_hash, google_subject)
        VALUES ($1, $2, $3, $4)
        RETURNING {_USER_COLUMNS}
        """,
        email,
        name,
        password_hash,
        google_subject,
    )
    return _user(row)


async def select_user(conn: asyncpg.Connection, user_id: UUID) -> User | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_USER_COLUMNS}
          FROM users
         WHERE users.id = $1
        """,
        user_id,
    )
    return None if row is None else _user(row)


async def select_user_by_email(conn: asyncpg.Connection, email: str) -> User | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_USER_COLUMNS}
          FROM users
         WHERE users.email = $1
        """,
        email,
    )
    return None if row is None else _user(row)


async def select_user_by_google_subject(conn: asyncpg.Connection, subject: str) -> User | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_USER_COLUMNS}
          FROM users
         WHERE users.google_subject = $1
        """,
        subject,
    )
    return None if row is None else _user(row)


async def select_credentials(conn: asyncpg.Connection, email: str) -> Credentials | None:
    row = await conn.fetchrow(
        """
        SELECT id, password_hash
          FROM users
         WHERE email = $1
        """,
        email,
    )
    return None if row is None else Credentials(row["id"], row["password_hash"])


async def link_google_subject(conn: asyncpg.Connection, user_id: UUID, subject: str) -> bool:
    """Link a Google account to a user who has none yet; False if one is linked already."""
    linked: UUID | None = await conn.fetchval(
        """
        UPDATE users
           SET google_subject = $2
         WHERE id = $1
           AND google_subject IS NULL
        RETURNING id
        """,
        user_id,
        subject,
    )
    return linked is not None


async def select_password_hash(conn: asyncpg.Connection, user_id: UUID) -> str | None:
    """The user's argon2 hash; None for an account that signs in only with Google."""
    password_hash: str | None = await conn.fetchval(
        """
        SELECT password_hash
          FROM users
         WHERE id = $1
        """,
        user_id,
    )
    return password_hash


async def update_password_hash(
    conn: asyncpg.Connection, user_id: UUID, password_hash: str
) -> User | None:
    row = await conn.fetchrow(
        f"""
        UPDATE users
           SET password_hash = $2
         WHERE id = $1
        RETURNING {_USER_COLUMNS}
        """,
        user_id,
        password_hash,
    )
    return None if row is None else _user(row)


async def remove_password(conn: asyncpg.Connection, user_id: UUID) -> bool:
    """Take the user's password away (they sign in with Google or reset it); False if they
    had none."""
    removed: UUID | None = await conn.fetchval(
        """
        UPDATE users
           SET password_hash = NULL
         WHERE id = $1
           AND password_hash IS NOT NULL
        RETURNING id
        """,
        user_id,
    )
    return removed is not None


async def mark_email_verified(conn: asyncpg.Connection, user_id: UUID, email: str) -> bool:
    """Mark the address verified if it is still the user's; False when it has changed since."""
    verified: UUID | None = await conn.fetchval(
        """
        UPDATE users
           SET email_verified = true
         WHERE id = $1
           AND email = $2
        RETURNING id
        """,
        user_id,
        email,
    )
    return verified is not None
