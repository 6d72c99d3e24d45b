"""POST /webhooks/stripe: signature checks, account.updated, and each event taking effect once."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider, StartApp
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import (
    WEBHOOK_PATH,
    SignedWebhook,
    deliver,
    post_webhook,
    signature_header,
    signed_webhook,
    stripe_event,
)

pytestmark = pytest.mark.usefixtures("fresh_stand_in")


@pytest.fixture
async def connected_provider(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> dict[str, Any]:
    """A provider who has started Stripe onboarding: it has an account, not yet charges."""
    await become_provider()
    response = await client.post("/api/providers/me/stripe/connect")
    assert response.status_code == 200, response.text
    provider: dict[str, Any] = (await client.get("/api/providers/me")).json()["provider"]
    assert provider["stripe_account_id"] is not None
    return provider


def account_updated(account_id: str, *, charges_enabled: bool, **event: Any) -> dict[str, Any]:
    account = {
        "id": account_id,
        "object": "account",
        "charges_enabled": charges_enabled,
        "details_submitted": charges_enabled,
        "payouts_enabled": charges_enabled,
    }
    return stripe_event("account.updated", account, **event)


async def charges_enabled(client: httpx.AsyncClient) -> bool:
    provider = (await client.get("/api/providers/me")).json()["provider"]
    enabled: bool = provider["charges_enabled"]
    return enabled


async def recorded_events(db: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await db.fetch("SELECT id, type FROM stripe_events ORDER BY received_at, id")
    return [(row["id"], row["type"]) for row in rows]


async def test_finishing_onboarding_lets_the_provider_take_charges(
    client: httpx.AsyncClient,
    connected_provider: dict[str, Any],
    stripe_stand_in: StripeStandIn,
) -> None:
    account = stripe_stand_in.complete_onboarding(connected_provider["stripe_account_id"])
    response = await deliver(client, stripe_event("account.updated", account))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    assert await charges_enabled(client) is True


async def test_an_account_losing_charges_is_mirrored(
    client: httpx.AsyncClient, connected_provider: dict[str, Any]
) -> None:
    account_id = connected_provider["stripe_account_id"]
    await deliver(client, account_updated(account_id, charges_enabled=True))
    assert await charges_enabled(client) is True
    await deliver(client, account_updated(account_id, charges_enabled=False))
    assert await charges_enabled(client) is False


async def test_a_redelivered_event_changes_nothing_the_second_time(
    client: httpx.AsyncClient, connected_provider: dict[str, Any], db: asyncpg.Connection
) -> None:
    account_id = connected_provider["stripe_account_id"]
    enabled = account_updated(account_id, charges_enabled=True)
    assert (await deliver(client, enabled)).status_code == 200
    disabled = account_updated(account_id, charges_enabled=False)
    assert (await deliver(client, disabled)).status_code == 200
    assert await charges_enabled(client) is False

    redelivery = await deliver(client, enabled)
    assert redelivery.status_code == 200
    assert redelivery.json() == {"received": True}
    assert await charges_enabled(client) is False
    assert await recorded_events(db) == [
        (enabled["id"], "account.updated"),
        (disabled["id"], "account.updated"),
    ]


async def test_an_event_for_an_unknown_account_is_acknowledged(
    client: httpx.AsyncClient, connected_provider: dict[str, Any], db: asyncpg.Connection
) -> None:
    event = account_updated("acct_someone_else", charges_enabled=True)
    response = await deliver(client, event)
    assert response.status_code == 200
    assert await charges_enabled(client) is False
    assert await recorded_events(db) == [(event["id"], "account.updated")]


@pytest.mark.parametrize(
    "event_type",
    [
        "checkout.session.completed",
        "checkout.session.expired",
        "charge.refunded",
        "customer.created",
    ],
)
async def test_other_events_are_recorded_and_acknowledged(
    client: httpx.AsyncClient, db: asyncpg.Connection, event_type: str
) -> None:
    event = stripe_event(event_type, {"id": "obj_123", "object": event_type.split(".")[0]})
    response = await deliver(client, event)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    assert await recorded_events(db) == [(event["id"], event_type)]


def _with_signature(webhook: SignedWebhook, signature: str | None) -> SignedWebhook:
    headers = {k: v for k, v in webhook.headers.items() if k != "Stripe-Signature"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return SignedWebhook(payload=webhook.payload, headers=headers)


async def _assert_refused(
    client: httpx.AsyncClient, webhook: SignedWebhook, db: asyncpg.Connection
) -> None:
    response = await post_webhook(client, webhook)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_signature"
    assert await charges_enabled(client) is False
    assert await recorded_events(db) == []


async def test_a_webhook_without_a_signature_is_refused(
    client: httpx.AsyncClient, connected_provider: dict[str, Any], db: asyncpg.Connection
) -> None:
    webhook = signed_webhook(
        account_updated(connected_provider["stripe_account_id"], charges_enabled=True)
    )
    await _assert_refused(client, _with_signature(webhook, None), db)
    await _assert_refused(client, _with_signature(webhook, ""), db)
    await _assert_refused(client, _with_signature(webhook, "t=,v1="), db)
    await _assert_refused(client, _with_signature(webhook, "garbage"), db)


async def test_a_webhook_signed_with_another_secret_is_refused(
    client: httpx.AsyncClient, connected_provider: dict[str, Any], db: asyncpg.Connection
) -> None:
    event = account_updated(connected_provider["stripe_account_id"], charges_enabled=True)
    await _assert_refused(client, signed_webhook(event, secret="whsec_someone_else"), db)


async def test_a_tampered_body_is_refused(
    client: httpx.AsyncClient, connected_provider: dict[str, Any], db: asyncpg.Connection
) -> None:
    account_id = connected_provider["stripe_account_id"]
    genuine = signed_webhook(account_updated(account_id, charges_enabled=False))
    tampered = genuine.payload.replace(b'"charges_enabled": false', b'"charges_enabled": true')
    assert tampered != genuine.payload
    await _assert_refused(client, SignedWebhook(payload=tampered, headers=genuine.headers), db)


async def test_an_old_signature_is_refused_as_a_replay(
    client: httpx.AsyncClient, connected_provider: dict[str, Any], db: asyncpg.Connection
) -> None:
    event = account_updated(connected_provider["stripe_account_id"], charges_enabled=True)
    ten_minutes_ago = int(time.time()) - 600
    await _assert_refused(client, signed_webhook(event, timestamp=ten_minutes_ago), db)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"id": "evt_1", "type": "account.updated"}', b'{"object": "event"}'],
)
async def test_a_signed_body_that_is_not_an_event_is_invalid_payload(
    client: httpx.AsyncClient, db: asyncpg.Connection, payload: bytes
) -> None:
    signature = signature_header(payload, timestamp=int(time.time()))
    response = await client.post(
        WEBHOOK_PATH, content=payload, headers={"Stripe-Signature": signature}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_payload"
    assert await recorded_events(db) == []


async def test_webhooks_without_a_secret_are_payments_disabled(
    start_app: StartApp, db: asyncpg.Connection
) -> None:
    app = await start_app(stripe_secret_key=None, stripe_webhook_secret=None)
    async with app.client() as http:
        response = await deliver(http, stripe_event("account.updated", {"id": "acct_1"}))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payments_disabled"
    assert await recorded_events(db) == []
