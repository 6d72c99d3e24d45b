"""Stripe Connect onboarding: POST /api/providers/me/stripe/connect against the Stripe stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider, LiveApp, SignUp, StartApp, make_provider
from tests.support.stripe_stub import StripeStandIn

CONNECT = "/api/providers/me/stripe/connect"


pytestmark = pytest.mark.usefixtures("fresh_stand_in")


async def _stored_account(db: asyncpg.Connection) -> str | None:
    account_id: str | None = await db.fetchval("SELECT stripe_account_id FROM providers")
    return account_id


async def test_connect_creates_an_express_account_and_returns_its_onboarding_link(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    live_app: LiveApp,
    stripe_stand_in: StripeStandIn,
) -> None:
    provider = await become_provider(timezone="Europe/London", email="ada@example.com")
    response = await client.post(CONNECT)
    assert response.status_code == 200, response.text
    url = response.json()["url"]

    [create] = stripe_stand_in.requests_to("POST", "/v1/accounts")
    assert create.form["type"] == "express"
    assert create.form["country"] == "GB"
    assert create.form["email"] == "ada@example.com"
    assert create.form["metadata"] == {"provider_id": provider["id"]}
    assert create.form["capabilities"]["card_payments"] == {"requested": "true"}
    assert create.form["capabilities"]["transfers"] == {"requested": "true"}
    [account] = stripe_stand_in.live_accounts()

    [link] = stripe_stand_in.account_links
    assert link["url"] == url
    assert link["form"] == {
        "account": account["id"],
        "type": "account_onboarding",
        "return_url": live_app.url + "/dashboard?stripe=return",
        "refresh_url": live_app.url + "/onboarding",
    }
    mine = (await client.get("/api/providers/me")).json()["provider"]
    assert mine["stripe_account_id"] == account["id"]
    assert mine["charges_enabled"] is False


async def test_connect_again_reuses_the_account_with_a_fresh_link(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
) -> None:
    await become_provider()
    first = await client.post(CONNECT)
    second = await client.post(CONNECT)
    assert first.status_code == second.status_code == 200
    assert first.json()["url"] != second.json()["url"]
    assert len(stripe_stand_in.requests_to("POST", "/v1/accounts")) == 1
    [account] = stripe_stand_in.live_accounts()
    assert [link["account"] for link in stripe_stand_in.account_links] == [account["id"]] * 2


async def test_the_account_country_follows_the_time_zone_or_the_request(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
) -> None:
    await become_provider(timezone="America/Chicago")
    response = await client.post(CONNECT, json={"country": "ca"})
    assert response.status_code == 200, response.text
    [create] = stripe_stand_in.requests_to("POST", "/v1/accounts")
    assert create.form["country"] == "CA"


async def test_concurrent_connect_calls_store_one_account(
    live_app: LiveApp,
    become_provider: BecomeProvider,
    client: httpx.AsyncClient,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    # Both requests reach Stripe before either answer comes back: a certain race.
    stripe_stand_in.hold_until_concurrent("POST", "/v1/accounts", count=2)
    first, second = await asyncio.gather(client.post(CONNECT), client.post(CONNECT))
    assert first.status_code == second.status_code == 200, (first.text, second.text)

    assert len(stripe_stand_in.requests_to("POST", "/v1/accounts")) == 2
    stored = await _stored_account(db)
    # The loser's account is deleted at Stripe; both links point at the stored one.
    assert [account["id"] for account in stripe_stand_in.live_accounts()] == [stored]
    assert {link["account"] for link in stripe_stand_in.account_links} == {stored}


async def test_connect_without_stripe_is_payments_disabled(
    start_app: StartApp, stripe_stand_in: StripeStandIn
) -> None:
    app = await start_app(stripe_secret_key=None, stripe_webhook_secret=None)
    async with app.client() as http:
        await make_provider(http)
        response = await http.post(CONNECT)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payments_disabled"
    assert stripe_stand_in.requests == []


async def test_connect_needs_a_provider(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    signed_out = await client.post(CONNECT)
    assert signed_out.status_code == 401
    await sign_up()
    response = await client.post(CONNECT)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_provider"


@pytest.mark.parametrize("status", [500, 503, 400, 401, 429])
async def test_a_stripe_failure_is_a_clean_error_and_stores_nothing(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
    status: int,
) -> None:
    await become_provider()
    stripe_stand_in.fail_next(status, path="/v1/accounts")
    response = await client.post(CONNECT)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "payments_unavailable"
    assert await _stored_account(db) is None

    # Nothing half-written: the next attempt starts cleanly and succeeds.
    retry = await client.post(CONNECT)
    assert retry.status_code == 200
    assert await _stored_account(db) is not None


async def test_a_transient_stripe_failure_is_retried(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    stripe_stand_in.fail_next(500, path="/v1/accounts", retryable=True)
    response = await client.post(CONNECT)
    assert response.status_code == 200, response.text
    attempts = stripe_stand_in.requests_to("POST", "/v1/accounts")
    assert len(attempts) == 2
    # The SDK's retry carries the same idempotency key, so Stripe cannot create two accounts.
    keys = {attempt.headers.get("Idempotency-Key") for attempt in attempts}
    assert len(keys) == 1 and None not in keys
    assert len(stripe_stand_in.live_accounts()) == 1


async def test_a_failed_link_keeps_the_account_for_next_time(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    stripe_stand_in.fail_next(500, path="/v1/account_links")
    response = await client.post(CONNECT)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payments_unavailable"
    [account] = stripe_stand_in.live_accounts()
    assert await _stored_account(db) == account["id"]

    retry = await client.post(CONNECT)
    assert retry.status_code == 200
    assert len(stripe_stand_in.requests_to("POST", "/v1/accounts")) == 1


async def test_a_country_stripe_does_not_support_is_refused(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    response = await client.post(CONNECT, json={"country": "AQ"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_country"
    assert await _stored_account(db) is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"country": "Great Britain"}', 422),
        (b'{"country": "GB", "type": "standard"}', 422),
        (b"[]", 400),
        (b"{oops", 400),
    ],
)
async def test_a_bad_connect_body_is_refused_before_stripe_is_called(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
    body: bytes,
    status: int,
) -> None:
    await become_provider()
    response = await client.post(
        CONNECT, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert stripe_stand_in.requests == []


@pytest.fixture
async def stripe_with_wrong_key(start_app: StartApp) -> AsyncIterator[LiveApp]:
    yield await start_app(stripe_secret_key="sk_test_not_ours")


async def test_a_wrong_api_key_is_a_clean_error(
    stripe_with_wrong_key: LiveApp, db: asyncpg.Connection
) -> None:
    async with stripe_with_wrong_key.client() as http:
        await make_provider(http)
        response = await http.post(CONNECT)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payments_unavailable"
    assert await _stored_account(db) is None
