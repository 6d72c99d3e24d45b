"""The provider's calendar feed: its secret URL (made on first ask, rotatable) and its body.

The token in the URL is HMAC-SHA256(SECRET_KEY, nonce); the database keeps the nonce and the
token's SHA-256 only. Rotating draws a new nonce, so the old URL stops answering (404).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from server.calendars.feed import feed_calendar
from server.infra.config import Config
from server.models import calendar_feeds
from server.models.providers import Provider

# The feed lists appointments that ended at most this long ago, and every later one.
FEED_PAST = timedelta(days=30)
MAX_TOKEN_LENGTH = 100


def _token(config: Config, nonce: str) -> str:
    digest = hmac.new(
        config.secret_key.encode(), f"calendar-feed:{nonce}".encode(), hashlib.sha256
    ).hexdigest()
    return digest


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(config: Config, token: str) -> str:
    return f"{config.base_url}/calendar/{token}.ics"


async def get_feed_url(conn: asyncpg.Connection, config: Config, provider: Provider) -> str:
    """The provider's feed URL, made on the first call."""
    found = await calendar_feeds.select_feed(conn, provider.id)
    if found is None:
        nonce = secrets.token_urlsafe(24)
        found = await calendar_feeds.upsert_feed(
            conn, provider.id, nonce, _hash(_token(config, nonce)), replace=False
        )
    token = _token(config, found.nonce)
    # SECRET_KEY changed since (e.g. a development server without one): the URL changes too.
    await calendar_feeds.update_hash(conn, provider.id, _hash(token))
    return feed_url(config, token)


async def rotate_feed_url(conn: asyncpg.Connection, config: Config, provider: Provider) -> str:
    """A new URL; the old one answers 404 from now on."""
    nonce = secrets.token_urlsafe(24)
    token = _token(config, nonce)
    await calendar_feeds.upsert_feed(conn, provider.id, nonce, _hash(token), replace=True)
    return feed_url(config, token)


@dataclass(frozen=True)
class FeedBody:
    body: bytes
    etag: str
    last_modified: datetime | None


async def render_feed(conn: asyncpg.Connection, token: str, now: datetime) -> FeedBody | None:
    """The feed of the token's provider, or None for an unknown (or rotated) token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    provider_id = await calendar_feeds.provider_of_token(conn, _hash(token))
    if provider_id is None:
        return None
    business_name = await _business_name(conn, provider_id)
    entries = await calendar_feeds.select_feed_entries(conn, provider_id, now - FEED_PAST)
    body = feed_calendar(business_name, entries)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    version = await calendar_feeds.feed_version(conn, provider_id)
    return FeedBody(body, etag, version)


async def _business_name(conn: asyncpg.Connection, provider_id: UUID) -> str:
    name: str = await conn.fetchval(
        "SELECT business_name FROM providers WHERE id = $1", provider_id
    )
    return name
