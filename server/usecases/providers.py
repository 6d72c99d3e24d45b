"""Becoming a provider, and finding the signed-in user's provider."""

from __future__ import annotations

import secrets

import asyncpg

from server.auth.session_user import require_user
from server.domain.providers import check_timezone, clean_business_name, clean_phone, slugify
from server.edge.errors import APIError
from server.infra.state import db
from server.models import providers
from server.models.providers import Provider
from server.models.users import User


async def become_provider(
    conn: asyncpg.Connection, user: User, *, business_name: str, timezone: str, phone: str | None
) -> Provider:
    """Create the user's provider; 409 `already_provider` on a second call."""
    business_name = clean_business_name(business_name)
    timezone = check_timezone(timezone)
    phone = clean_phone(phone)
    if await providers.select_provider_by_user(conn, user.id) is not None:
        raise APIError(409, "already_provider", "You are already a provider.")
    base_slug = slugify(business_name)
    for attempt in range(5):
        slug = base_slug if attempt == 0 else f"{base_slug}-{secrets.token_hex(2)}"
        try:
            async with conn.transaction():
                return await providers.insert_provider(
                    conn,
                    user_id=user.id,
                    business_name=business_name,
                    slug=slug,
                    timezone=timezone,
                    phone=phone,
                )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "providers_user_id_key":
                raise APIError(409, "already_provider", "You are already a provider.") from None
    raise APIError(409, "slug_unavailable", "Could not find a free address for that name.")


async def require_provider() -> Provider:
    """The signed-in user's provider: 401 when signed out, 403 `not_provider` otherwise."""
    user = await require_user()
    provider = await providers.select_provider_by_user(await db(), user.id)
    if provider is None:
        raise APIError(403, "not_provider", "Become a provider first.")
    return provider
