"""Webhook secrets for the platform and Connect endpoints, events of the other mode, the
provider back from onboarding (issue 11, money point 4), and Stripe answering 500s or not at
all (the fault test): clear errors in bounded time, holds released, other pages unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from jobs.context import JobContext
from jobs.payments import expire_unpaid_holds
from tests.conftest import BecomeProvider, LiveApp, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import (
    book_online,
    deliver,
    enable_online_payments,
    session_for,
    stripe_event,
)

PLATFORM_SECRET = "whsec_platform_endpoint"
CONNECT_SECRET = "whsec_connect_endpoint"
CHECKOUT = "/v1/checkout/sessions"


@pytest.fixture(autouse=True)
def fresh_stand_in(stripe_stand_in: StripeStandIn) -> AsyncIterator[StripeStandIn]:
    stripe_stand_in.reset()
    yield stripe_stand_in
    stripe_stand_in.end_outage()


async def charges_enabled(http: httpx.AsyncClient) -> bool:
    enabled: bool = (await http.get("/api/providers/me")).json()["provider"]["charges_enabled"]
    return enabled


async def recorded_events(db: asyncpg.Connection) -> list[str]:
    return [row["id"] for row in await db.fetch("SELECT id FROM stripe_events")]


# --- Point 4: webhook secrets, modes, back from onboarding ---------------------------------------


@pytest.fixture(scope="module")
async def two_endpoints(start_app: StartApp) -> LiveApp:
    """STRIPE_WEBHOOK_SECRET listing both endpoints' signing secrets."""
    return await start_app(stripe_webhook_secret=f"{PLATFORM_SECRET},{CONNECT_SECRET}")


async def test_events_signed_by_either_endpoint_are_accepted_and_no_other(
    two_endpoints: LiveApp, stripe_stand_in: StripeStandIn, db: asyncpg.Connection
) -> None:
    async with two_endpoints.client() as http:
        await make_provider(http)
        assert (await http.post("/api/providers/me/stripe/connect")).status_code == 200
        account_id = (await http.get("/api/providers/me")).json()["provider"]["stripe_account_id"]
        account = stripe_stand_in.complete_onboarding(account_id)

        stranger = await deliver(
            http, stripe_event("account.updated", account), secret="whsec_someone_else"
        )
        assert stranger.status_code == 400
        assert stranger.json()["error"]["code"] == "bad_signature"
        assert await charges_enabled(http) is False

        # account.updated of a connected account comes to the Connect endpoint, signed with
        # its own secret; checkout events come to the platform endpoint.
        connect = await deliver(
            http, stripe_event("account.updated", account), secret=CONNECT_SECRET
        )
        assert connect.status_code == 200, connect.text
        assert await charges_enabled(http) is True
        platform = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
        assert (await deliver(http, platform, secret=PLATFORM_SECRET)).status_code == 200
    assert platform["id"] in await recorded_events(db)


async def test_an_event_of_the_other_mode_is_acknowledged_and_ignored(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    assert (await client.post("/api/providers/me/stripe/connect")).status_code == 200
    account_id = (await client.get("/api/providers/me")).json()["provider"]["stripe_account_id"]
    live_event = stripe_event("account.updated", stripe_stand_in.complete_onboarding(account_id))
    live_event["livemode"] = True  # our key is sk_test_…

    response = await deliver(client, live_event)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    assert await charges_enabled(client) is False
    assert await recorded_events(db) == []


async def test_returning_from_onboarding_reads_the_account_from_stripe(
    client: httpx.AsyncClient, become_provider: BecomeProvider, stripe_stand_in: StripeStandIn
) -> None:
    await become_provider()
    assert (await client.post("/api/providers/me/stripe/connect")).status_code == 200
    [link] = stripe_stand_in.account_links
    return_url = link["form"]["return_url"]
    stripe_stand_in.complete_onboarding(link["account"])  # no account.updated (yet)

    back = await client.get(return_url)
    assert back.status_code == 302
    assert back.headers["Location"].endswith("/dashboard")
    assert await charges_enabled(client) is True
    assert stripe_stand_in.requests_to("GET", f"/v1/accounts/{link['account']}")


async def test_returning_from_onboarding_while_stripe_is_down_still_shows_the_dashboard(
    client: httpx.AsyncClient, become_provider: BecomeProvider, stripe_stand_in: StripeStandIn
) -> None:
    await become_provider()
    assert (await client.post("/api/providers/me/stripe/connect")).status_code == 200
    [link] = stripe_stand_in.account_links
    stripe_stand_in.outage("error")
    back = await client.get(link["form"]["return_url"])
    assert back.status_code == 302
    assert await charges_enabled(client) is False


# --- Fault: Stripe answering 500s and timeouts ---------------------------------------------------


@pytest.fixture(scope="module")
async def impatient_app(start_app: StartApp) -> LiveApp:
    """An app that waits at most half a second for each Stripe request."""
    return await start_app(stripe_timeout=0.5)


@pytest.fixture
async def impatient_provider(impatient_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with impatient_app.client() as http:
        await make_provider(http)
        yield http


@pytest.fixture
async def paid_service(
    impatient_provider: httpx.AsyncClient, stripe_stand_in: StripeStandIn
) -> dict[str, Any]:
    await enable_online_payments(impatient_provider, stripe_stand_in)
    return await create_service(impatient_provider, price_cents=2500, currency="EUR")


@pytest.fixture
async def guest(impatient_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with impatient_app.client() as http:
        yield http


async def no_live_unpaid_bookings(db: asyncpg.Connection) -> bool:
    held: int = await db.fetchval(
        "SELECT count(*) FROM appointments"
        " WHERE payment_status = 'awaiting_payment' AND status IN ('PENDING', 'CONFIRMED')"
    )
    return held == 0


@pytest.mark.parametrize("kind", ["error", "timeout"])
async def test_stripe_down_gives_a_clear_error_releases_the_slot_and_leaves_pages_working(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
    kind: str,
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    stripe_stand_in.outage(kind)
    booking = asyncio.create_task(book(guest, slot["id"]))
    await stripe_stand_in.wait_for_requests("POST", CHECKOUT, 1)
    # While the booking waits on Stripe, the rest of the site answers.
    assert (await guest.get(f"/api/services/{paid_service['id']}")).status_code == 200
    assert (await guest.get("/healthz")).status_code == 200

    async with asyncio.timeout(15):  # bounded: a few short tries, never a hang
        response = await booking
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "payments_unavailable"
    assert await no_live_unpaid_bookings(db)
    offered = await free_slots(guest, paid_service["id"], tomorrow())
    assert slot["start_time"] in {s["start_time"] for s in offered}

    stripe_stand_in.end_outage()
    again = await book(guest, offered[0]["id"])
    assert again.status_code == 201, again.text
    assert again.json()["checkout_url"] is not None


async def test_the_hold_sweep_finishes_while_stripe_does_not_answer(
    impatient_app: LiveApp,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db_pool: Any,
    redis_client: Redis,
    db: asyncpg.Connection,
) -> None:
    ctx: JobContext = {"config": impatient_app.config, "pool": db_pool, "app_redis": redis_client}
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    booking = await book_online(guest, slot)
    session = session_for(stripe_stand_in, booking["appointment"]["id"])
    booked_at = datetime.fromisoformat(booking["appointment"]["created_at"])
    hold_end = datetime.fromisoformat(booking["appointment"]["hold_expires_at"])

    stripe_stand_in.outage("timeout")
    async with asyncio.timeout(15):
        assert await expire_unpaid_holds(ctx, now=hold_end + timedelta(seconds=1)) == 0
        # Once Stripe has expired the session itself, the slot is released without Stripe.
        assert await expire_unpaid_holds(ctx, now=booked_at + timedelta(minutes=32)) == 1
    assert await no_live_unpaid_bookings(db)
    assert stripe_stand_in.checkout_sessions[session["id"]]["status"] == "open"
