"""Build Stripe webhook deliveries signed exactly as Stripe documents it.

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
from typing import Any

import httpx

from tests.support.stripe_stub import WEBHOOK_SECRET

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
