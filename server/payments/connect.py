"""Stripe Connect onboarding: one Express account per provider and a fresh onboarding link."""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from pathlib import Path

import asyncpg
import stripe

from server.edge.errors import APIError
from server.infra.state import config
from server.models import providers
from server.models.providers import Provider
from server.models.users import User
from server.payments.stripe_api import payments_unavailable, stripe_client

log = logging.getLogger(__name__)

DEFAULT_COUNTRY = "US"
# The dashboard, marked so that it refreshes the account's state from Stripe on arrival (the
# account.updated event may come later, or to a Connect endpoint not yet set up).
RETURN_PATH = "/dashboard?stripe=return"
REFRESH_PATH = "/onboarding"


async def onboarding_link(
    conn: asyncpg.Connection, user: User, provider: Provider, *, country: str | None = None
) -> str:
    """The URL of a Stripe-hosted onboarding page for the provider's Connect account.

    The account is created on the first call and reused afterwards. Every Stripe call happens
    outside any database transaction; a Stripe failure is a 409 `payments_unavailable` with
    nothing stored.
    """
    client = stripe_client()
    account_id = provider.stripe_account_id
    if account_id is None:
        account_id = await _create_account(
            conn, client, user, provider, country or country_for_timezone(provider.timezone)
        )
    base_url = config().base_url
    try:
        link = await client.v1.account_links.create_async(
            params={
                "account": account_id,
                "type": "account_onboarding",
                "return_url": base_url + RETURN_PATH,
                "refresh_url": base_url + REFRESH_PATH,
            }
        )
    except stripe.StripeError as error:
        raise payments_unavailable(error) from error
    return link.url


async def charges_enabled(account_id: str) -> bool:
    """Whether Stripe lets the Connect account take charges now (retrieved from Stripe);
    StripeError when Stripe cannot say."""
    account = await stripe_client().v1.accounts.retrieve_async(account_id)
    return account.charges_enabled is True


async def _create_account(
    conn: asyncpg.Connection,
    client: stripe.StripeClient,
    user: User,
    provider: Provider,
    country: str,
) -> str:
    try:
        account = await client.v1.accounts.create_async(
            params={
                "type": "express",
                "country": country,
                "email": user.email,
                "business_profile": {"name": provider.business_name},
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
                "metadata": {"provider_id": str(provider.id)},
            }
        )
    except stripe.InvalidRequestError as error:
        if error.param == "country":
            raise APIError(
                422,
                "invalid_country",
                "Online payments are not available in that country.",
                fields={"country": "Choose the country your business is registered in."},
            ) from error
        raise payments_unavailable(error) from error
    except stripe.StripeError as error:
        raise payments_unavailable(error) from error
    if await providers.set_stripe_account(conn, provider.id, account.id) is not None:
        return account.id
    # A concurrent request stored its account first: use that one, and drop ours at Stripe.
    winner = await providers.select_provider(conn, provider.id)
    assert winner is not None and winner.stripe_account_id is not None
    await _delete_unused_account(client, account.id)
    return winner.stripe_account_id


async def _delete_unused_account(client: stripe.StripeClient, account_id: str) -> None:
    try:
        await client.v1.accounts.delete_async(account_id)
    except stripe.StripeError:
        # An empty, never-onboarded account does no harm; the link still works.
        log.warning("could not delete unused Stripe account %s", account_id, exc_info=True)


def country_for_timezone(timezone: str) -> str:
    """The ISO country of an IANA zone (Europe/London → GB), from the tz database's zone.tab."""
    return _zone_countries().get(timezone, DEFAULT_COUNTRY)


@cache
def _zone_countries() -> dict[str, str]:
    text = _zone_table()
    countries: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            countries[fields[2]] = fields[0]
    return countries


def _zone_table() -> str:
    try:
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    system_table = Path("/usr/share/zoneinfo/zone.tab")
    return system_table.read_text() if system_table.exists() else ""
