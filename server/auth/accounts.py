"""Signing up and signing in with an email and a password.

argon2 is slow on purpose, so neither function holds the request's database connection while
it hashes or verifies: a burst of logins must not take every pooled connection from the pages.
"""

from __future__ import annotations

import asyncpg

from server.auth.passwords import hash_password, verify_password
from server.domain.accounts import check_password, clean_name, normalise_email
from server.edge.errors import APIError
from server.infra.state import db, release_db
from server.models import users
from server.models.users import User


async def sign_up(*, email: str, password: str, name: str) -> User:
    """Create a password account; 409 `email_taken` when the address is in use."""
    email = normalise_email(email)
    check_password(password)
    name = clean_name(name)
    await release_db()
    password_hash = await hash_password(password)
    try:
        return await users.insert_user(
            await db(), email=email, name=name, password_hash=password_hash
        )
    except asyncpg.UniqueViolationError:
        raise APIError(
            409,
            "email_taken",
            "An account with that email already exists.",
            fields={"email": "Already registered: sign in instead."},
        ) from None


async def authenticate(*, email: str, password: str) -> User | None:
    """The user with these credentials, or None (unknown email and wrong password alike)."""
    conn = await db()
    credentials = await users.select_credentials(conn, email.strip())
    user = None if credentials is None else await users.select_user(conn, credentials.user_id)
    await release_db()
    password_hash = None if credentials is None else credentials.password_hash
    if not await verify_password(password_hash, password):
        return None
    return user
