"""A provider's Stripe Connect account as Stripe sees it, mirrored into `providers`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
import stripe

from server.models import providers
from server.models.providers import Provider
from server.payments.connect import charges_enabled

log = logging.getLogger(__name__)


async def refresh_charges_enabled(
    provider: Provider,
    *,
    connection: Callable[[], Awaitable[asyncpg.Connection]],
    release: Callable[[], Awaitable[None]],
) -> bool:
    """Ask Stripe whether the provider's account can take charges now and store the answer
    (the provider is back from onboarding). No database connection is held while Stripe
    answers; when Stripe cannot say, nothing changes (account.updated will tell us). Returns
    whether the account can take charges."""
    if provider.stripe_account_id is None:
        return False
    await release()
    try:
        enabled = await charges_enabled(provider.stripe_account_id)
    except stripe.StripeError as error:
        log.warning("could not refresh Stripe account %s: %s", provider.stripe_account_id, error)
        return provider.charges_enabled
    if enabled != provider.charges_enabled:
        conn = await connection()
        await providers.set_charges_enabled_by_account(conn, provider.stripe_account_id, enabled)
    return enabled
