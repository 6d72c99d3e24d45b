"""Signing up and signing in with an email and a password."""

from __future__ import annotations

import asyncpg

from server.auth.passwords import hash_password, verify_password
from server.domain.accounts import check_password, clean_name, normalise_email
from server.edge.errors import APIError
from server.models import users
from server.models.users import User


async def sign_up(conn: asyncpg.Connection, *, email: str, password: str, name: str) -> User:
    """Create a password account; 409 `email_taken` when the address is in use."""
    email = normalise_email(email)
    check_password(password)
    name = clean_name(name)
    password_hash = await hash_password(password)
    try:
        return await users.insert_user(conn, email=email, name=name, password_hash=password_hash)
    except asyncpg.UniqueViolationError:
        raise APIError(
            409,
            "email_taken",
            "An account with that email already exists.",
            fields={"email": "Already registered: sign in instead."},
        ) from None


async def authenticate(conn: asyncpg.Connection, *, email: str, password: str) -> User | None:
    """The user with these credentials, or None (unknown email and wrong password alike)."""
    credentials = await users.select_credentials(conn, email.strip())
    password_hash = None if credentials is None else credentials.password_hash
    if not await verify_password(password_hash, password) or credentials is None:
        return None
    return await users.select_user(conn, credentials.user_id)
