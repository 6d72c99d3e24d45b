"""Password reset, password change and e-mail verification.

Links carry a random token that is stored only as a hash and works once (server.models.
account_tokens). The e-mail is written to the outbox in the same transaction as its token, and
the caller nudges the worker after the commit. Changing a password, by reset or by knowing the
old one, signs the user out of every other session.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import asyncpg
from redis.asyncio import Redis

from server.auth.passwords import hash_password, verify_password
from server.auth.rate_limit import RequestQuota
from server.domain.accounts import check_password, normalise_email
from server.edge.errors import APIError
from server.infra.state import db, release_db
from server.models import account_tokens, sessions, users
from server.models.users import User
from server.notifications.outbox import queue_email

RESET_LIFETIME = timedelta(hours=1)
VERIFY_LIFETIME = timedelta(hours=48)
QUOTA_WINDOW_SECONDS = 60 * 60
# Enough for a lost e-mail or two; few enough that nobody can flood an inbox through us.
RESETS_PER_EMAIL = 5
RESETS_PER_IP = 30
VERIFICATIONS_PER_USER = 5


def _hours(lifetime: timedelta) -> int:
    return int(lifetime.total_seconds() // 3600)


# --- How often links may be asked for ---------------------------------------------------------


def reset_quota(redis: Redis, *, ip: str, email: str) -> RequestQuota:
    return RequestQuota(
        redis,
        (
            (f"appointly:reset-requests:email:{email.lower()}", RESETS_PER_EMAIL),
            (f"appointly:reset-requests:ip:{ip}", RESETS_PER_IP),
        ),
        QUOTA_WINDOW_SECONDS,
    )


def verification_quota(redis: Redis, user_id: UUID) -> RequestQuota:
    return RequestQuota(
        redis,
        ((f"appointly:verify-requests:user:{user_id}", VERIFICATIONS_PER_USER),),
        QUOTA_WINDOW_SECONDS,
    )


# --- Password reset ---------------------------------------------------------------------------


async def request_password_reset(conn: asyncpg.Connection, *, email: str, base_url: str) -> bool:
    """Queue a reset link if an account has this address; whether one was queued.

    The caller answers the same either way, so nobody learns which addresses have accounts.
    An earlier unused link stops working: only the newest e-mail's link does.
    """
    user = await users.select_user_by_email(conn, normalise_email(email))
    if user is None:
        return False
    async with conn.transaction():
        token_id = await _queue_link(
            conn, user, "password_reset", RESET_LIFETIME, f"{base_url}/reset-password", "reset_url"
        )
        await account_tokens.delete_unused_tokens(conn, user.id, "password_reset", keep=token_id)
    return True


async def _queue_link(
    conn: asyncpg.Connection,
    user: User,
    purpose: account_tokens.Purpose,
    lifetime: timedelta,
    page_url: str,
    url_field: str,
) -> UUID:
    """Issue a single-use token for `purpose` and queue the e-mail (kind `purpose`) that links
    to `page_url?token=…`, in the caller's transaction; the token's id."""
    token = secrets.token_urlsafe(32)
    token_id = await account_tokens.insert_token(
        conn, purpose=purpose, user_id=user.id, email=user.email, token=token, lifetime=lifetime
    )
    await queue_email(
        conn,
        kind=purpose,
        to=user.email,
        context={
            "name": user.name,
            url_field: f"{page_url}?token={token}",
            "valid_hours": _hours(lifetime),
        },
        dedupe_key=f"{purpose}:{token_id}",
        user_id=user.id,
    )
    return token_id


def _invalid_token() -> APIError:
    return APIError(
        400,
        "invalid_token",
        "This link has expired or has already been used. Ask for a new one.",
    )


async def reset_password(*, token: str, password: str) -> User:
    """Set a new password with a reset link's token and end every session of the user.

    The caller then starts a fresh session. Following the link also proves the address.
    """
    check_password(password)
    await release_db()  # argon2 is slow: hash without holding a pooled connection
    password_hash = await hash_password(password)
    conn = await db()
    async with conn.transaction():
        consumed = await account_tokens.consume_token(conn, "password_reset", token)
        if consumed is None:
            raise _invalid_token()
        user = await users.update_password_hash(conn, consumed.user_id, password_hash)
        if user is None:
            raise _invalid_token()
        await account_tokens.delete_unused_tokens(conn, user.id, "password_reset")
        await sessions.delete_user_sessions(conn, user.id)
        if await users.mark_email_verified(conn, user.id, consumed.email):
            user = replace(user, email_verified=True)
    return user


# --- Password change --------------------------------------------------------------------------


async def change_password(
    user: User,
    *,
    current_password: str,
    new_password: str,
    keep_session: UUID | None,
) -> None:
    """Replace the password of a signed-in user who knows the current one; every session but
    `keep_session` (the caller's) ends, and outstanding reset links stop working."""
    current_hash = await users.select_password_hash(await db(), user.id)
    if current_hash is None:
        raise APIError(
            403,
            "no_password",
            "This account signs in with Google and has no password yet. "
            "To set one, use “Forgot password?” on the log-in page.",
        )
    await release_db()  # argon2 twice below: no pooled connection held meanwhile
    if not await verify_password(current_hash, current_password):
        raise APIError(
            403,
            "invalid_credentials",
            "Your current password is not right.",
            fields={"current_password": "This is not your current password."},
        )
    check_password(new_password)
    new_hash = await hash_password(new_password)
    conn = await db()
    async with conn.transaction():
        await users.update_password_hash(conn, user.id, new_hash)
        await account_tokens.delete_unused_tokens(conn, user.id, "password_reset")
        await sessions.delete_user_sessions(conn, user.id, keep=keep_session)


# --- E-mail verification ----------------------------------------------------------------------


async def send_verification(conn: asyncpg.Connection, user: User, *, base_url: str) -> bool:
    """Queue a verification link to the user's address; False when it is verified already."""
    if user.email_verified:
        return False
    async with conn.transaction():
        await _queue_link(
            conn, user, "verify_email", VERIFY_LIFETIME, f"{base_url}/verify-email", "verify_url"
        )
    return True


async def verify_email(conn: asyncpg.Connection, token: str) -> str:
    """Mark the address a verification link was sent to as verified; returns that address.

    400 `invalid_token` when the link is unknown, used or expired, or the account's address
    has changed since it was sent.
    """
    async with conn.transaction():
        consumed = await account_tokens.consume_token(conn, "verify_email", token)
        if consumed is None or not await users.mark_email_verified(
            conn, consumed.user_id, consumed.email
        ):
            raise _invalid_token()
    return consumed.email
