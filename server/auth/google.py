"""Google sign-in with OpenID Connect: the authorization redirect, the code exchange, the
id_token checks and the mapping from a Google account to an Appointly user.

authlib builds the authorization URL and exchanges the code; server.auth.oidc verifies the
id_token with joserfc.
Any failure raises GoogleSignInError, which the route turns into `/login?error=google_failed`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from redis.asyncio import Redis

from server.auth.oidc import ProviderMetadata, SignInError, discover, verify_id_token
from server.domain.accounts import normalise_email
from server.domain.redirects import local_path
from server.domain.rules import RuleBroken
from server.infra.config import Config
from server.models import sessions, users
from server.models.users import User

DEFAULT_NEXT = "/dashboard"
SCOPE = "openid email profile"
# Google accepts the secret in the form body or as HTTP basic auth; the body is simplest.
CLIENT_AUTH_METHOD = "client_secret_post"
STATE_TTL_SECONDS = 10 * 60
HTTP_TIMEOUT_SECONDS = 10
_STATE_KEY = "appointly:google-state:{}"
_MAX_STATE_LENGTH = 128
# The browser binding: secrets.token_urlsafe(32), kept in a short-lived cookie by the route.
_BINDING_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")


# The route catches this one name; the protocol steps in server.auth.oidc raise it too.
GoogleSignInError = SignInError


@dataclass(frozen=True)
class PendingSignIn:
    """What we remember between the redirect to Google and the callback, keyed by `state`.

    `binding` is the digest of the cookie the starting browser got: a callback from any other
    browser (an attacker's callback URL opened by a victim: login CSRF) is refused.
    """

    nonce: str
    next: str
    code_verifier: str
    created: float
    binding: str


@dataclass(frozen=True)
class GoogleIdentity:
    subject: str
    email: str
    email_verified: bool
    name: str


@dataclass(frozen=True)
class SignedInAs:
    """Who a Google sign-in signs in as, and how many of that user's sessions it ended (taking
    over a password account whose address was never verified ends all of them)."""

    user: User
    ended_sessions: int = 0


@dataclass(frozen=True)
class CompletedSignIn:
    identity: GoogleIdentity
    next: str


# --- Where to go afterwards -------------------------------------------------------------------


def safe_next(raw: str | None) -> str:
    """`raw` if it is a path on this site, else the dashboard (no open redirects)."""
    return local_path(raw) or DEFAULT_NEXT


# --- Binding the sign-in to the browser that started it ---------------------------------------


def browser_binding(cookie: str | None) -> str:
    """The binding value for the browser's cookie: the one it already holds (sign-ins started
    in two tabs both work), or a new random one."""
    if cookie is not None and _BINDING_FORMAT.fullmatch(cookie):
        return cookie
    return secrets.token_urlsafe(32)


def _binding_digest(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def _check_binding(pending: PendingSignIn, cookie: str | None) -> None:
    if cookie is None or len(cookie) > _MAX_STATE_LENGTH:
        raise GoogleSignInError("callback without the browser binding cookie")
    if not secrets.compare_digest(pending.binding, _binding_digest(cookie)):
        raise GoogleSignInError("callback from another browser than the one that started")


# --- Step 1: send the browser to Google -------------------------------------------------------


def redirect_uri(config: Config) -> str:
    return f"{config.base_url}/auth/google/callback"


def _oauth_client(config: Config) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=config.google_client_id,
        client_secret=config.google_client_secret,
        token_endpoint_auth_method=CLIENT_AUTH_METHOD,
        scope=SCOPE,
        redirect_uri=redirect_uri(config),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_SECONDS,
    )


async def begin_sign_in(redis: Redis, config: Config, next_path: str | None, binding: str) -> str:
    """Remember a fresh state, nonce and PKCE verifier, bound to the browser holding
    `binding` (see browser_binding); return the authorization URL."""
    metadata = await discover(config.google_discovery_url)
    state = secrets.token_urlsafe(32)
    pending = PendingSignIn(
        nonce=secrets.token_urlsafe(32),
        next=safe_next(next_path),
        code_verifier=secrets.token_urlsafe(48),
        created=time.time(),
        binding=_binding_digest(binding),
    )
    await redis.set(_STATE_KEY.format(state), orjson.dumps(asdict(pending)), ex=STATE_TTL_SECONDS)
    async with _oauth_client(config) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint,
            state=state,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
    return str(url)


# --- Step 2: the callback ---------------------------------------------------------------------


async def take_pending(redis: Redis, state: str | None) -> PendingSignIn:
    """The sign-in that `state` belongs to, deleted as it is read so a state works once."""
    if not state or len(state) > _MAX_STATE_LENGTH:
        raise GoogleSignInError("missing or malformed state")
    raw = await redis.getdel(_STATE_KEY.format(state))
    if raw is None:
        raise GoogleSignInError("unknown, expired or already used state")
    return PendingSignIn(**orjson.loads(raw))


async def complete_sign_in(
    redis: Redis, config: Config, params: Mapping[str, str], binding_cookie: str | None
) -> CompletedSignIn:
    """Check the callback's parameters and the browser's binding cookie, exchange the code
    and verify the id_token."""
    # Consume the state first, so even a refused attempt cannot be replayed.
    pending = await take_pending(redis, params.get("state"))
    _check_binding(pending, binding_cookie)
    if "error" in params:
        raise GoogleSignInError(f"provider answered error={params['error']!r}")
    code = params.get("code")
    if not code:
        raise GoogleSignInError("callback without a code")
    metadata = await discover(config.google_discovery_url)
    id_token = await exchange_code(config, metadata, code, pending.code_verifier)
    assert config.google_client_id is not None
    claims = await verify_id_token(id_token, metadata, config.google_client_id, pending.nonce)
    return CompletedSignIn(identity=identity_from_claims(claims), next=pending.next)


async def exchange_code(
    config: Config, metadata: ProviderMetadata, code: str, code_verifier: str
) -> str:
    """Trade the authorization code for tokens at the token endpoint; return the id_token."""
    try:
        async with _oauth_client(config) as client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
    except (OAuthError, httpx.HTTPError, ValueError) as error:
        raise GoogleSignInError(f"token endpoint refused the code: {error!r}") from error
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise GoogleSignInError("token response without an id_token")
    return id_token


def identity_from_claims(claims: Mapping[str, Any]) -> GoogleIdentity:
    subject, email, name = claims.get("sub"), claims.get("email"), claims.get("name")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise GoogleSignInError("id_token without a usable sub")
    if not isinstance(email, str):
        raise GoogleSignInError("id_token without an email")
    try:
        email = normalise_email(email)
    except RuleBroken as error:
        raise GoogleSignInError("id_token email is malformed") from error
    verified = claims.get("email_verified")
    clean = " ".join(name.split())[:200] if isinstance(name, str) else ""
    return GoogleIdentity(
        subject=subject,
        email=email,
        email_verified=verified is True or verified == "true",
        name=clean or email.split("@", 1)[0],
    )


# --- Step 3: which user is this? --------------------------------------------------------------


async def user_for_identity(conn: asyncpg.Connection, identity: GoogleIdentity) -> SignedInAs:
    """The user this Google account signs in as (see _find_or_create_user). Google vouching
    for the address marks it verified, if it is still the user's address."""
    found = await _find_or_create_user(conn, identity)
    user = found.user
    vouched = identity.email_verified and not user.email_verified
    if vouched and await users.mark_email_verified(conn, user.id, identity.email):
        return replace(found, user=replace(user, email_verified=True))
    return found


async def _find_or_create_user(conn: asyncpg.Connection, identity: GoogleIdentity) -> SignedInAs:
    """Already linked, linked now by a verified email, or created. An unverified email that
    matches an account is refused, since anyone can claim an address they do not own."""
    user = await users.select_user_by_google_subject(conn, identity.subject)
    if user is not None:
        return SignedInAs(user)
    existing = await users.select_user_by_email(conn, identity.email)
    if existing is not None:
        return await _link(conn, existing, identity)
    try:
        return SignedInAs(
            await users.insert_user(
                conn, email=identity.email, name=identity.name, google_subject=identity.subject
            )
        )
    except asyncpg.UniqueViolationError:
        # Another callback for the same account won the race; it created the user we want.
        raced = await users.select_user_by_google_subject(conn, identity.subject)
        if raced is None:
            raise GoogleSignInError("email was taken while signing up") from None
        return SignedInAs(raced)


async def _link(conn: asyncpg.Connection, user: User, identity: GoogleIdentity) -> SignedInAs:
    if not identity.email_verified:
        raise GoogleSignInError("unverified Google email matches an existing account")
    try:
        async with conn.transaction():
            if not await users.link_google_subject(conn, user.id, identity.subject):
                raise GoogleSignInError("that account is already linked to another Google account")
            ended = 0 if user.email_verified else await _end_unproven_access(conn, user.id)
    except asyncpg.UniqueViolationError:
        raise GoogleSignInError("Google account was linked elsewhere meanwhile") from None
    return SignedInAs(user, ended_sessions=ended)


async def _end_unproven_access(conn: asyncpg.Connection, user_id: UUID) -> int:
    """The account's address was never proven: whoever signed up with it first need not own
    it. Now that Google vouches for the owner, that first comer's password and every session
    go (the owner's new session starts after this); how many sessions ended."""
    await users.remove_password(conn, user_id)
    return await sessions.delete_user_sessions(conn, user_id)
