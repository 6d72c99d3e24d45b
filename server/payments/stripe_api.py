"""The app's Stripe API client, built from Config and shared by every request of one app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import stripe
from quart import current_app

from server.edge.errors import APIError
from server.infra.config import Config
from server.infra.state import config

log = logging.getLogger(__name__)

_EXTENSION_KEY = "appointly.stripe"
# Retries are safe: the SDK sends an idempotency key with every POST it retries.
MAX_NETWORK_RETRIES = 2
# Stripe answers in well under a second; a request slower than Config.stripe_timeout is not
# worth waiting for, and connecting takes at most this long.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class StripeConnection:
    """A client and the HTTP pool under it, closed together."""

    client: stripe.StripeClient
    http_client: stripe.HTTPXClient

    async def close(self) -> None:
        await self.http_client.close_async()  # type: ignore[no-untyped-call]


def connect_stripe(settings: Config) -> StripeConnection:
    """A client for STRIPE_SECRET_KEY at STRIPE_API_BASE (the worker keeps one in its ctx)."""
    assert settings.stripe_secret_key is not None
    # Explicit, so the async methods run on httpx in our asyncio loop (not a sync fallback).
    timeout = httpx.Timeout(
        settings.stripe_timeout, connect=min(CONNECT_TIMEOUT, settings.stripe_timeout)
    )
    http_client = stripe.HTTPXClient(timeout=timeout)
    client = stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": settings.stripe_api_base},
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=http_client,
    )
    return StripeConnection(client=client, http_client=http_client)


@asynccontextmanager
async def stripe_outside_requests(settings: Config) -> AsyncIterator[stripe.StripeClient | None]:
    """A client for one job run or command (None without STRIPE_SECRET_KEY), closed after."""
    if not settings.stripe_enabled:
        yield None
        return
    connection = connect_stripe(settings)
    try:
        yield connection.client
    finally:
        await connection.close()


def payments_disabled() -> APIError:
    return APIError(409, "payments_disabled", "Online payments are not set up on this site.")


def stripe_client() -> stripe.StripeClient:
    """The current app's client; 409 `payments_disabled` when STRIPE_SECRET_KEY is not set."""
    settings = config()
    if not settings.stripe_enabled:
        raise payments_disabled()
    connection: StripeConnection | None = current_app.extensions.get(_EXTENSION_KEY)
    if connection is None:
        connection = connect_stripe(settings)
        current_app.extensions[_EXTENSION_KEY] = connection
    return connection.client


async def close_stripe_client() -> None:
    """Close the client's connection pool; call when the app stops serving."""
    connection: StripeConnection | None = current_app.extensions.pop(_EXTENSION_KEY, None)
    if connection is not None:
        await connection.close()


def payments_unavailable(error: stripe.StripeError) -> APIError:
    """Stripe failed or refused: the client gets a stable error, the log gets the detail."""
    log.warning("Stripe request failed: %s (request id %s)", error, error.request_id)
    return APIError(
        409,
        "payments_unavailable",
        "Our payment provider could not complete that just now. Please try again shortly.",
    )
