"""Paying for a booking online: Checkout through the real SDK at the stand-in, then Stripe's
signed checkout.session.completed webhook marks it paid and the provider hears of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from server.notifications.delivery import deliver_due
from tests.conftest import LiveApp, Mailbox, StartApp, make_provider
from tests.support.booking import GUEST, book, create_service, free_slots, tomorrow
from tests.support.sockets import session_cookie_header, ws_url
from tests.support.stripe_checkout import complete_payment
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import (
    booking_api_path,
    deliver,
    enable_online_payments,
    session_for,
    stripe_event,
)

PRICE_CENTS = 4500
FEE_PERCENT = 12.5


pytestmark = pytest.mark.usefixtures("fresh_stand_in")


@pytest.fixture(scope="module")
async def fee_app(start_app: StartApp) -> LiveApp:
    """A server that takes a platform fee (PLATFORM_FEE_PERCENT=12.5)."""
    return await start_app(platform_fee_percent=FEE_PERCENT)


@pytest.fixture
async def provider(fee_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    """A provider signed in on `fee_app` whose Stripe account can take charges."""
    async with fee_app.client() as http:
        await make_provider(http)
        yield http


@pytest.fixture
async def account_id(provider: httpx.AsyncClient, stripe_stand_in: StripeStandIn) -> str:
    return await enable_online_payments(provider, stripe_stand_in)


@pytest.fixture
async def paid_service(provider: httpx.AsyncClient, account_id: str) -> dict[str, Any]:
    return await create_service(provider, price_cents=PRICE_CENTS, currency="GBP")


@pytest.fixture
async def guest(fee_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with fee_app.client() as http:
        yield http


@pytest.fixture
async def provider_socket(
    fee_app: LiveApp, provider: httpx.AsyncClient
) -> AsyncIterator[ClientConnection]:
    url = ws_url(fee_app.url, "/ws/provider")
    async with connect(url, additional_headers=session_cookie_header(provider)) as socket:
        yield socket


async def next_frame(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        frame: dict[str, Any] = orjson.loads(await socket.recv())
    return frame


async def book_paid_slot(guest: httpx.AsyncClient, service: dict[str, Any]) -> dict[str, Any]:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    response = await book(guest, slot["id"])
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking


def completed_event(session: dict[str, Any]) -> dict[str, Any]:
    return stripe_event("checkout.session.completed", session)


async def test_a_paid_booking_opens_checkout_for_the_provider_with_the_platform_fee(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    account_id: str,
    stripe_stand_in: StripeStandIn,
) -> None:
    booking = await book_paid_slot(guest, paid_service)
    appointment = booking["appointment"]
    assert appointment["payment_status"] == "awaiting_payment"
    assert appointment["hold_expires_at"] is not None
    assert appointment["refund_status"] is None
    session = session_for(stripe_stand_in, appointment["id"])
    assert booking["checkout_url"] == session["url"]
    assert booking["checkout_url"].startswith(stripe_stand_in.url)

    [sent] = stripe_stand_in.requests_to("POST", "/v1/checkout/sessions")
    assert sent.form["client_reference_id"] == appointment["id"]
    assert sent.form["metadata"] == {"appointment_id": appointment["id"]}
    intent = sent.form["payment_intent_data"]
    assert intent["transfer_group"] == appointment["id"]
    assert intent["transfer_data"] == {"destination": account_id}
    assert int(intent["application_fee_amount"]) == 563  # 12.5% of 4500, rounded half up
    assert sent.form["line_items"][0]["price_data"]["unit_amount"] == str(PRICE_CENTS)
    assert sent.headers["Idempotency-Key"] == f"appointly-checkout-{appointment['id']}"


async def test_the_completed_webhook_marks_the_booking_paid_and_tells_the_provider(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    provider_socket: ClientConnection,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    booking = await book_paid_slot(guest, paid_service)
    appointment_id = booking["appointment"]["id"]
    assert (await next_frame(provider_socket))["event"] == "booked"

    paid = complete_payment(stripe_stand_in, session_for(stripe_stand_in, appointment_id)["id"])
    response = await deliver(guest, completed_event(paid))
    assert response.status_code == 200, response.text

    frame = await next_frame(provider_socket)
    assert (frame["type"], frame["event"]) == ("appointment", "paid")
    assert frame["appointment"]["id"] == appointment_id
    assert frame["appointment"]["payment_status"] == "paid"
    assert frame["appointment"]["hold_expires_at"] is None
    row = await db.fetchrow(
        "SELECT paid_at, stripe_payment_intent_id, hold_expires_at, status"
        "  FROM appointments WHERE id = $1::uuid",
        appointment_id,
    )
    assert row["paid_at"] is not None
    assert row["stripe_payment_intent_id"] == paid["payment_intent"]
    assert row["hold_expires_at"] is None
    assert row["status"] == "PENDING"
    shown = (await guest.get(booking_api_path(booking))).json()
    assert shown["appointment"]["payment_status"] == "paid"


async def test_paying_releases_the_booking_emails_held_back_until_then(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db_pool: Any,
    fee_app: LiveApp,
    mailbox: Mailbox,
) -> None:
    booking = await book_paid_slot(guest, paid_service)
    appointment_id = booking["appointment"]["id"]
    assert await deliver_due(db_pool, fee_app.config) == 0  # held while unpaid

    paid = complete_payment(stripe_stand_in, session_for(stripe_stand_in, appointment_id)["id"])
    assert (await deliver(guest, completed_event(paid))).status_code == 200

    assert await deliver_due(db_pool, fee_app.config) == 2
    received = await mailbox.wait_for(lambda m: m["To"] == GUEST["customer_email"])
    assert booking["manage_url"] in received.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_repeated_completion_changes_nothing(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    provider_socket: ClientConnection,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    booking = await book_paid_slot(guest, paid_service)
    appointment_id = booking["appointment"]["id"]
    assert (await next_frame(provider_socket))["event"] == "booked"
    paid = complete_payment(stripe_stand_in, session_for(stripe_stand_in, appointment_id)["id"])
    event = completed_event(paid)
    assert (await deliver(guest, event)).status_code == 200
    assert (await next_frame(provider_socket))["event"] == "paid"
    paid_at = await db.fetchval(
        "SELECT paid_at FROM appointments WHERE id = $1::uuid", appointment_id
    )

    # The same event redelivered, and the same completion under another event id.
    assert (await deliver(guest, event)).status_code == 200
    assert (await deliver(guest, completed_event(paid))).status_code == 200

    assert paid_at == await db.fetchval(
        "SELECT paid_at FROM appointments WHERE id = $1::uuid", appointment_id
    )
    # The next thing the provider hears is the cancellation below, not a second "paid".
    cancel = await guest.post(booking_api_path(booking, "/cancel"))
    assert cancel.status_code == 200, cancel.text
    assert (await next_frame(provider_socket))["event"] == "cancelled"


async def test_stripe_failing_to_open_checkout_books_nothing(
    guest: httpx.AsyncClient, paid_service: dict[str, Any], stripe_stand_in: StripeStandIn
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    stripe_stand_in.fail_next(500, method="POST", path="/v1/checkout/sessions")
    response = await book(guest, slot["id"])
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "payments_unavailable"
    again = {s["start_time"]: s for s in await free_slots(guest, paid_service["id"], tomorrow())}
    assert again[slot["start_time"]]["available"] is True


async def test_a_free_service_needs_no_checkout(
    guest: httpx.AsyncClient, provider: httpx.AsyncClient, account_id: str
) -> None:
    service = await create_service(provider, price_cents=0)
    booking = await book_paid_slot(guest, service)
    assert booking["checkout_url"] is None
    assert booking["appointment"]["payment_status"] == "pay_at_visit"
