"""Build Stripe webhook deliveries signed exactly as Stripe documents it, and the steps of an
online payment around them (onboarding a provider, booking, paying) for the payment tests.

The signature is computed here by hand (HMAC-SHA256 of "{timestamp}.{payload}" with the
endpoint's secret, sent as `Stripe-Signature: t=…,v1=…`), not with the SDK, so the tests check
the app's verification against the documented scheme rather than against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.booking import free_slots, tomorrow
from tests.support.stripe_checkout import complete_payment
from tests.support.stripe_stub import WEBHOOK_SECRET, StripeStandIn

API_VERSION = "2025-03-31.basil"
WEBHOOK_PATH = "/webhooks/stripe"


def stripe_event(
    event_type: str, data_object: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """An Event as Stripe sends it: `data.object` is the object the event is about."""
    event: dict[str, Any] = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if data_object.get("object") == "account":
        event["account"] = data_object["id"]  # Connect events name the connected account
    return event


def signature_header(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class SignedWebhook:
    payload: bytes
    headers: dict[str, str]


def signed_webhook(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> SignedWebhook:
    payload = json.dumps(event, indent=2).encode()  # Stripe pretty-prints its payloads
    stamp = int(time.time()) if timestamp is None else timestamp
    return SignedWebhook(
        payload=payload,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(payload, secret=secret, timestamp=stamp),
        },
    )


async def post_webhook(http: httpx.AsyncClient, webhook: SignedWebhook) -> httpx.Response:
    return await http.post(WEBHOOK_PATH, content=webhook.payload, headers=webhook.headers)


async def deliver(
    http: httpx.AsyncClient, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    """Deliver `event` as Stripe would, signed now."""
    return await post_webhook(http, signed_webhook(event, secret=secret))


async def enable_online_payments(http: httpx.AsyncClient, stand_in: StripeStandIn) -> str:
    """Take the provider signed in on `http` through Connect onboarding at the stand-in, and
    tell the app as Stripe would (account.updated); returns the connected account's id."""
    response = await http.post("/api/providers/me/stripe/connect")
    assert response.status_code == 200, response.text
    provider = (await http.get("/api/providers/me")).json()["provider"]
    account = stand_in.complete_onboarding(provider["stripe_account_id"])
    assert (await deliver(http, stripe_event("account.updated", account))).status_code == 200
    provider = (await http.get("/api/providers/me")).json()["provider"]
    assert provider["charges_enabled"] is True
    account_id: str = provider["stripe_account_id"]
    return account_id


def session_for(stand_in: StripeStandIn, appointment_id: str) -> dict[str, Any]:
    """The Checkout Session the stand-in opened for a booking (by its client reference)."""
    found = [
        session
        for session in stand_in.checkout_sessions.values()
        if session["client_reference_id"] == appointment_id
    ]
    assert len(found) == 1, f"{len(found)} sessions for {appointment_id}"
    return found[0]


def booking_api_path(booking: dict[str, Any], action: str = "") -> str:
    """/api/bookings/{id}{action}?key=… from a POST /api/bookings answer's manage link."""
    key = booking["manage_url"].partition("?key=")[2]
    return f"/api/bookings/{booking['appointment']['id']}{action}?key={key}"


async def book_online(http: httpx.AsyncClient, slot: dict[str, Any]) -> dict[str, Any]:
    """Book `slot` of a paid service; the POST /api/bookings answer, awaiting payment."""
    response = await http.post(
        "/api/bookings",
        json={"slot_id": slot["id"], "customer_name": "Grace", "customer_email": "g@example.com"},
    )
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    assert booking["appointment"]["payment_status"] == "awaiting_payment"
    return booking


async def book_first_slot(http: httpx.AsyncClient, service: dict[str, Any]) -> dict[str, Any]:
    """Book tomorrow's first free slot of a paid service, as `book_online` does."""
    return await book_online(http, (await free_slots(http, service["id"], tomorrow()))[0])


def after_hold(booking: dict[str, Any]) -> datetime:
    """A moment just after an unpaid booking's hold ran out."""
    return datetime.fromisoformat(booking["appointment"]["hold_expires_at"]) + timedelta(seconds=1)


async def pay(
    http: httpx.AsyncClient, stand_in: StripeStandIn, booking: dict[str, Any]
) -> dict[str, Any]:
    """The customer pays at the stand-in and Stripe tells the app; the paid session."""
    session = complete_payment(stand_in, session_for(stand_in, booking["appointment"]["id"])["id"])
    response = await deliver(http, stripe_event("checkout.session.completed", session))
    assert response.status_code == 200, response.text
    return session


async def appointment_of(http: httpx.AsyncClient, booking: dict[str, Any]) -> dict[str, Any]:
    """The booking as its customer sees it now (through its manage key)."""
    response = await http.get(booking_api_path(booking))
    assert response.status_code == 200, response.text
    appointment: dict[str, Any] = response.json()["appointment"]
    return appointment
