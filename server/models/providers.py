"""The providers table: a user who offers services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

_PROVIDER_COLUMNS = """
    id, user_id, business_name, slug, timezone, phone, stripe_account_id, charges_enabled
"""


@dataclass(frozen=True)
class Provider:
    id: UUID
    user_id: UUID
    business_name: str
    slug: str
    timezone: str
    phone: str | None
    stripe_account_id: str | None
    charges_enabled: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "business_name": self.business_name,
            "slug": self.slug,
            "timezone": self.timezone,
            "phone": self.phone,
            "stripe_account_id": self.stripe_account_id,
            "charges_enabled": self.charges_enabled,
        }


def _provider(row: asyncpg.Record) -> Provider:
    return Provider(**dict(row))


async def insert_provider(
    conn: asyncpg.Connection,
    *,
    user_id: UUID,
    business_name: str,
    slug: str,
    timezone: str,
    phone: str | None,
) -> Provider:
    """Raises UniqueViolationError on a second provider for the user or a taken slug."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO providers (user_id, business_name, slug, timezone, phone)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING {_PROVIDER_COLUMNS}
        """,
        user_id,
        business_name,
        slug,
        timezone,
        phone,
    )
    return _provider(row)


async def select_provider_by_user(conn: asyncpg.Connection, user_id: UUID) -> Provider | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_PROVIDER_COLUMNS}
          FROM providers
         WHERE user_id = $1
        """,
        user_id,
    )
    return None if row is None else _provider(row)


async def select_provider(conn: asyncpg.Connection, provider_id: UUID) -> Provider | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_PROVIDER_COLUMNS}
          FROM providers
         WHERE id = $1
        """,
        provider_id,
    )
    return None if row is None else _provider(row)


async def slug_taken(conn: asyncpg.Connection, slug: str) -> bool:
    taken: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM providers WHERE slug = $1)", slug
    )
    return taken


async def set_stripe_account(
    conn: asyncpg.Connection, provider_id: UUID, stripe_account_id: str
) -> Provider | None:
    """Store the provider's Connect account unless one is stored already.

    None means another request stored its account first; re-read the provider to use that one.
    """
    row = await conn.fetchrow(
        f"""
        UPDATE providers
           SET stripe_account_id = $2
         WHERE id = $1
           AND stripe_account_id IS NULL
        RETURNING {_PROVIDER_COLUMNS}
        """,
        provider_id,
        stripe_account_id,
    )
    return None if row is None else _provider(row)


async def set_charges_enabled_by_account(
    conn: asyncpg.Connection, stripe_account_id: str, charges_enabled: bool
) -> Provider | None:
    """Record whether Stripe lets the account take payments; None when no provider has it."""
    row = await conn.fetchrow(
        f"""
        UPDATE providers
           SET charges_enabled = $2
         WHERE stripe_account_id = $1
        RETURNING {_PROVIDER_COLUMNS}
        """,
        stripe_account_id,
        charges_enabled,
    )
    return None if row is None else _provider(row)
