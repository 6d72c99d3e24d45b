"""Webhooks (issue 14 item 4): a provider's endpoints hear each booking change once, signed, in
the change's transaction; deliveries are retried with back-off until a 2xx or 24 hours."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from jobs.purge import purge_expired
from server.domain.rules import RuleBroken
from server.webhooks.delivery import deliver_webhooks_due
from server.webhooks.urls import check_webhook_url
from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, free_slots, make_started, manage_key, tomorrow
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import book_first_slot, deliver, pay, stripe_event
from tests.support.webhook_receiver import WebhookReceiver

README = Path(__file__).resolve().parent.parent / "README.md"
ALL_EVENTS = [
    "booking.created",
    "booking.paid",
    "booking.confirmed",
    "booking.rejected",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.completed",
    "booking.no_show",
]


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The README's receiver example, executed as written."""
    section = README.read_text().partition("### Webhooks")[2]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the README's Webhooks section has no Python example"
    code = found.group(1)
    assert len(code.strip().splitlines()) <= 10
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 (our own README, on purpose)
    verify: Callable[[str, str, bytes], bool] = namespace["verify"]
    return verify


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    started = await WebhookReceiver().start()
    yield started
    await started.stop()


async def add_webhook(
    http: httpx.AsyncClient, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await http.post(
        "/api/providers/me/webhooks", json={"url": url, "events": events or ALL_EVENTS}
    )
    assert response.status_code == 201, response.text
    webhook: dict[str, Any] = response.json()["webhook"]
    return webhook


async def deliveries_by_event(db: asyncpg.Connection) -> Counter[str]:
    rows = await db.fetch("SELECT event FROM webhook_deliveries")
    return Counter(row["event"] for row in rows)


async def payload_of(db: asyncpg.Connection, event: str) -> dict[str, Any]:
    payload: dict[str, Any] = await db.fetchval(
        "SELECT payload FROM webhook_deliveries WHERE event = $1", event
    )
    return payload


def later(seconds: float) -> datetime:
    return datetime.now().astimezone() + timedelta(seconds=seconds)


# --- The API ------------------------------------------------------------------------------------


async def test_a_webhook_is_created_with_its_secret_shown_once_then_listed_and_deleted(
    client: httpx.AsyncClient, become_provider: Any, receiver: WebhookReceiver
) -> None:
    await become_provider()
    webhook = await add_webhook(client, receiver.url, ["booking.created", "booking.cancelled"])
    assert webhook["secret"].startswith("whsec_")
    assert webhook["events"] == ["booking.created", "booking.cancelled"]

    listed = (await client.get("/api/providers/me/webhooks")).json()["webhooks"]
    assert [item["id"] for item in listed] == [webhook["id"]]
    assert "secret" not in listed[0]

    deleted = await client.delete(f"/api/providers/me/webhooks/{webhook['id']}")
    assert deleted.status_code == 204
    assert (await client.get("/api/providers/me/webhooks")).json()["webhooks"] == []
    again = await client.delete(f"/api/providers/me/webhooks/{webhook['id']}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "webhook_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook", "events": ["booking.created"]}, "url"),
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"url": "https://example.com/hook", "events": ["booking.exploded"]}, "events"),
        ({"url": "https://user:pw@example.com/hook", "events": ["booking.created"]}, "url"),
    ],
)
async def test_a_bad_webhook_is_refused_with_422(
    client: httpx.AsyncClient, become_provider: Any, body: dict[str, Any], field: str
) -> None:
    await become_provider()
    response = await client.post("/api/providers/me/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert field in str(response.json()["error"].get("fields", {})) or field == "url"


def test_in_production_a_webhook_may_not_point_at_loopback_or_private_addresses() -> None:
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
    ):
        with pytest.raises(RuleBroken):
            check_webhook_url(url, production=True)
        assert check_webhook_url(url, production=False) == url
    assert check_webhook_url("https://93.184.216.34/hook", production=True)


async def test_another_providers_webhook_is_invisible(
    client: httpx.AsyncClient, become_provider: Any, live_app: LiveApp, receiver: WebhookReceiver
) -> None:
    await become_provider()
    webhook = await add_webhook(client, receiver.url)
    async with live_app.client() as other:
        await make_provider(other, business_name="Bob's Barbers", email="bob@example.com")
        assert (await other.get("/api/providers/me/webhooks")).json()["webhooks"] == []
        for response in (
            await other.delete(f"/api/providers/me/webhooks/{webhook['id']}"),
            await other.get(f"/api/providers/me/webhooks/{webhook['id']}/deliveries"),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "webhook_not_found"
    assert (await client.get("/api/providers/me/webhooks")).json()["webhooks"] != []


# --- Every event, once per change ---------------------------------------------------------------


async def test_every_booking_change_queues_one_delivery_of_its_event_with_the_booking(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    receiver: WebhookReceiver,
) -> None:
    await add_webhook(client, receiver.url)
    unsubscribed = await add_webhook(client, receiver.url, ["booking.paid"])
    slots = await free_slots(guest, service["id"], tomorrow())

    async def booked(index: int) -> dict[str, Any]:
        response = await book(guest, slots[index]["id"])
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    first, second, third, fourth = [await booked(index) for index in range(4)]
    assert await deliveries_by_event(db) == {"booking.created": 4}
    created = await payload_of(db, "booking.created")
    assert created["appointment"]["status"] == "PENDING"

    first_id = first["appointment"]["id"]
    assert (await client.post(f"/api/appointments/{first_id}/confirm")).status_code == 200
    moved = await client.post(
        f"/api/appointments/{first_id}/reschedule", json={"slot_id": slots[5]["id"]}
    )
    assert moved.status_code == 200, moved.text
    cancelled = await guest.post(
        f"/api/bookings/{first_id}/cancel", params={"key": manage_key(first)}
    )
    assert cancelled.status_code == 200, cancelled.text
    rejected = await client.post(f"/api/appointments/{second['appointment']['id']}/reject")
    assert rejected.status_code == 200, rejected.text
    for booking, action in ((third, "complete"), (fourth, "no-show")):
        appointment_id = booking["appointment"]["id"]
        assert (await client.post(f"/api/appointments/{appointment_id}/confirm")).is_success
        await make_started(db, appointment_id)
        done = await client.post(f"/api/appointments/{appointment_id}/{action}")
        assert done.status_code == 200, done.text

    assert await deliveries_by_event(db) == {
        "booking.created": 4,
        "booking.confirmed": 3,
        "booking.rescheduled": 1,
        "booking.cancelled": 1,
        "booking.rejected": 1,
        "booking.completed": 1,
        "booking.no_show": 1,
    }
    assert not await db.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1::uuid", unsubscribed["id"]
    )
    rescheduled = await payload_of(db, "booking.rescheduled")
    assert rescheduled["appointment"]["id"] == first_id
    assert rescheduled["appointment"]["start_time"] == slots[5]["start_time"]
    assert rescheduled["previous"] == {
        "start_time": slots[0]["start_time"],
        "end_time": slots[0]["end_time"],
    }
    assert (await payload_of(db, "booking.cancelled"))["appointment"]["status"] == "CANCELLED"
    assert "previous" not in await payload_of(db, "booking.cancelled")


@pytest.mark.usefixtures("fresh_stand_in")
async def test_a_payment_queues_booking_paid_once(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
    receiver: WebhookReceiver,
) -> None:
    await add_webhook(client, receiver.url, ["booking.paid"])
    booking = await book_first_slot(guest, paid_service)
    session = await pay(guest, stripe_stand_in, booking)
    # Stripe says it again, in another event: still one booking.paid.
    again = await deliver(guest, stripe_event("checkout.session.completed", session))
    assert again.status_code == 200, again.text
    assert await deliveries_by_event(db) == {"booking.paid": 1}
    paid = await payload_of(db, "booking.paid")
    assert paid["appointment"]["payment_status"] == "paid"


# --- Delivery -----------------------------------------------------------------------------------


async def test_a_failing_receiver_gets_the_same_signed_event_until_it_answers_2xx(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db_pool: Any,
    live_app: LiveApp,
    receiver: WebhookReceiver,
) -> None:
    receiver.fail_first = 2
    webhook = await add_webhook(client, receiver.url, ["booking.created"])
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booking = (await book(guest, slot["id"])).json()

    config = live_app.config
    assert await deliver_webhooks_due(db_pool, config, now=later(0)) == 0
    # Not due again until its back-off has passed.
    assert await deliver_webhooks_due(db_pool, config, now=later(1)) == 0
    assert await deliver_webhooks_due(db_pool, config, now=later(15)) == 0
    assert await deliver_webhooks_due(db_pool, config, now=later(60)) == 1
    assert await deliver_webhooks_due(db_pool, config, now=later(3600)) == 0

    verify = readme_verify()
    assert len(receiver.received) == 3
    for received in receiver.received:
        assert verify(webhook["secret"], received.signature, received.body)
        assert not verify(webhook["secret"], received.signature, received.body + b" ")
        assert not verify("whsec_wrong", received.signature, received.body)
    bodies = [received.json for received in receiver.received]
    assert len({body["id"] for body in bodies}) == 1
    assert all(received.body == receiver.received[0].body for received in receiver.received)
    event = bodies[0]
    assert event["type"] == "booking.created"
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["data"]["appointment"]["id"] == booking["appointment"]["id"]

    listed = await client.get(f"/api/providers/me/webhooks/{webhook['id']}/deliveries")
    assert listed.json()["deliveries"] == [
        {
            "id": event["id"],
            "event": "booking.created",
            "status": "delivered",
            "attempts": 3,
            "response_status": 200,
            "created_at": listed.json()["deliveries"][0]["created_at"],
        }
    ]


async def test_a_delivery_is_given_up_24_hours_after_its_event(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db_pool: Any,
    live_app: LiveApp,
    receiver: WebhookReceiver,
) -> None:
    receiver.fail_first = 1_000
    webhook = await add_webhook(client, receiver.url, ["booking.created"])
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201

    hours = 0.0
    while hours < 30:
        await deliver_webhooks_due(db_pool, live_app.config, now=later(hours * 3600))
        hours += 0.5
    listed = await client.get(f"/api/providers/me/webhooks/{webhook['id']}/deliveries")
    [delivery] = listed.json()["deliveries"]
    assert delivery["status"] == "failed"
    assert delivery["response_status"] == 500
    assert 20 < delivery["attempts"] < 60  # back-off: not every half hour from the start


async def test_the_deliveries_list_shows_the_last_50_newest_first(
    client: httpx.AsyncClient, become_provider: Any, db: asyncpg.Connection
) -> None:
    await become_provider()
    webhook = await add_webhook(client, "https://example.com/hook")
    await db.execute(
        """
        INSERT INTO webhook_deliveries (webhook_id, event, payload, created_at)
        SELECT $1::uuid, 'booking.created', '{}'::jsonb, now() - n * interval '1 minute'
          FROM generate_series(1, 60) AS n
        """,
        webhook["id"],
    )
    listed = await client.get(f"/api/providers/me/webhooks/{webhook['id']}/deliveries")
    deliveries = listed.json()["deliveries"]
    assert len(deliveries) == 50
    oldest_shown = await db.fetchval(
        "SELECT created_at FROM webhook_deliveries ORDER BY created_at DESC OFFSET 49 LIMIT 1"
    )
    assert [item["created_at"] for item in deliveries] == sorted(
        (item["created_at"] for item in deliveries), reverse=True
    )
    assert datetime.fromisoformat(deliveries[-1]["created_at"]) == oldest_shown


async def test_the_landing_pages_comparison_says_appointly_has_signed_webhooks(
    guest: httpx.AsyncClient,
) -> None:
    page = (await guest.get("/")).text
    row = page.partition("Signed webhooks to your other tools")[2].partition("</tr>")[0]
    assert re.search(r'class="ours"[^>]*><span class="yes">Yes</span>', row)


async def test_in_production_a_delivery_to_a_private_address_is_refused_not_sent(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    db_pool: Any,
    live_app: LiveApp,
    receiver: WebhookReceiver,
) -> None:
    await add_webhook(client, receiver.url, ["booking.created"])  # allowed outside production
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201
    production = live_app.config.with_changes(app_env="production")
    assert await deliver_webhooks_due(db_pool, production, now=later(0)) == 0
    assert receiver.received == []
    row = await db.fetchrow("SELECT status, last_error FROM webhook_deliveries")
    assert row["status"] == "pending"
    assert "private" in row["last_error"]


async def test_finished_deliveries_are_forgotten_after_30_days_pending_ones_never(
    client: httpx.AsyncClient, become_provider: Any, db: asyncpg.Connection, job_ctx: Any
) -> None:
    await become_provider()
    webhook = await add_webhook(client, "https://example.com/hook")
    await db.execute(
        """
        INSERT INTO webhook_deliveries (webhook_id, event, payload, status, created_at)
        VALUES ($1::uuid, 'booking.created', '{}', 'delivered', now() - interval '31 days'),
               ($1::uuid, 'booking.created', '{}', 'failed', now() - interval '31 days'),
               ($1::uuid, 'booking.created', '{}', 'pending', now() - interval '31 days'),
               ($1::uuid, 'booking.created', '{}', 'delivered', now() - interval '29 days')
        """,
        webhook["id"],
    )
    assert await purge_expired(job_ctx) == 2
    left = await db.fetch("SELECT status FROM webhook_deliveries ORDER BY created_at")
    assert [row["status"] for row in left] == ["pending", "delivered"]
