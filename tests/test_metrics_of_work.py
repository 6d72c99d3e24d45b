"""The counters of the work behind a booking move by exactly what was done: payments, expired
holds, refunds, e-mails, webhook deliveries, job runs (this process's own registry)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from jobs.busy_calendars import sync_due_calendars
from jobs.context import JobContext
from jobs.job_metrics import counted_job
from jobs.notifications import deliver_outbox
from jobs.payments import expire_unpaid_holds, make_due_refunds
from server.notifications.reminders import queue_due_reminders
from server.webhooks.delivery import deliver_webhooks_due
from tests.conftest import LiveApp
from tests.support.booking import book, free_slots, tomorrow
from tests.support.serving import free_port
from tests.support.stripe_checkout import expire_session
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import (
    after_hold,
    book_first_slot,
    book_online,
    booking_api_path,
    deliver,
    pay,
    session_for,
    stripe_event,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.usefixtures("fresh_stand_in")


class Reading:
    """One metric's value now, to compare with its value later."""

    def __init__(self, name: str, **labels: str) -> None:
        self.name, self.labels = name, labels
        self.start = self.now()

    def now(self) -> float:
        return REGISTRY.get_sample_value(self.name, self.labels) or 0.0

    @property
    def moved(self) -> float:
        return self.now() - self.start


async def test_a_payment_is_counted_once_however_often_stripe_reports_it(
    guest: httpx.AsyncClient, paid_service: dict[str, Any], stripe_stand_in: StripeStandIn
) -> None:
    payments = Reading("appointly_payments_recorded_total")
    booking = await book_first_slot(guest, paid_service)

    session = await pay(guest, stripe_stand_in, booking)
    again = stripe_event("checkout.session.completed", session)
    assert (await deliver(guest, again)).status_code == 200

    assert payments.moved == 1


async def test_holds_freed_by_the_sweep_and_by_stripe_are_counted(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    expired = Reading("appointly_holds_expired_total")
    first, second = (await free_slots(guest, paid_service["id"], tomorrow()))[:2]
    swept = await book_online(guest, first)
    await book_online(guest, second)

    assert await expire_unpaid_holds(job_ctx, now=after_hold(swept)) == 2
    assert expired.moved == 2
    assert await expire_unpaid_holds(job_ctx, now=after_hold(swept)) == 0
    assert expired.moved == 2


async def test_stripe_expiring_a_session_counts_one_expired_hold(
    guest: httpx.AsyncClient, paid_service: dict[str, Any], stripe_stand_in: StripeStandIn
) -> None:
    expired = Reading("appointly_holds_expired_total")
    booking = await book_first_slot(guest, paid_service)
    session = session_for(stripe_stand_in, booking["appointment"]["id"])
    event = stripe_event("checkout.session.expired", expire_session(stripe_stand_in, session["id"]))

    for _ in range(2):  # redelivered: nothing more
        assert (await deliver(guest, event)).status_code == 200

    assert expired.moved == 1


async def test_a_refund_is_counted_by_its_outcome(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    succeeded = Reading("appointly_refunds_total", outcome="succeeded")
    retried = Reading("appointly_refunds_total", outcome="retry")
    booking = await book_first_slot(guest, paid_service)
    await pay(guest, stripe_stand_in, booking)
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200

    assert await make_due_refunds(job_ctx) == 1

    assert (succeeded.moved, retried.moved) == (1, 0)


async def test_e_mails_sent_are_counted_by_channel(
    guest: httpx.AsyncClient, service: dict[str, Any], job_ctx: JobContext
) -> None:
    sent = Reading("appointly_messages_sent_total", channel="email", outcome="sent")
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201

    delivered = await deliver_outbox(job_ctx)

    assert delivered >= 2  # the customer's and the provider's
    assert sent.moved == delivered


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    started = await WebhookReceiver(fail_first=1).start()
    yield started
    await started.stop()


async def test_webhook_deliveries_are_counted_by_outcome(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    receiver: WebhookReceiver,
    job_ctx: JobContext,
) -> None:
    delivered = Reading("appointly_webhook_deliveries_total", outcome="delivered")
    retried = Reading("appointly_webhook_deliveries_total", outcome="retry")
    created = await client.post(
        "/api/providers/me/webhooks", json={"url": receiver.url, "events": ["booking.created"]}
    )
    assert created.status_code == 201, created.text
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201

    await deliver_webhooks_due(job_ctx["pool"], live_app.config)  # answered 500
    assert (delivered.moved, retried.moved) == (0, 1)
    await job_ctx["pool"].execute("UPDATE webhook_deliveries SET next_attempt_at = now()")
    await deliver_webhooks_due(job_ctx["pool"], live_app.config)

    assert (delivered.moved, retried.moved) == (1, 1)


async def test_a_job_is_counted_by_name_and_outcome(job_ctx: JobContext) -> None:
    ok = Reading("appointly_job_runs_total", job="deliver_outbox", outcome="ok")
    failed = Reading("appointly_job_runs_total", job="broken_job", outcome="failed")
    timed = Reading("appointly_job_duration_seconds_count", job="deliver_outbox")

    async def broken_job(ctx: JobContext) -> None:
        raise RuntimeError("broken")

    await counted_job(deliver_outbox)(job_ctx)
    with pytest.raises(RuntimeError):
        await counted_job(broken_job)(job_ctx)

    assert (ok.moved, failed.moved, timed.moved) == (1, 1, 1)


async def test_a_reminder_is_counted_with_how_late_it_was_queued(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    db_pool: Any,
) -> None:
    reminders = Reading("appointly_reminders_sent_total")
    lateness = Reading("appointly_reminder_lateness_seconds_sum")
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201
    assert (await client.post(f"/api/appointments/{slot['id']}/confirm")).status_code == 200
    starts_at: datetime = await db.fetchval(
        "UPDATE appointments SET booked_at = now() - interval '3 days' WHERE id = $1::uuid"
        " RETURNING starts_at",
        slot["id"],
    )
    day_before = starts_at - timedelta(minutes=live_app.config.reminder_offsets[0])

    queued = await queue_due_reminders(
        db_pool, live_app.config, now=day_before + timedelta(minutes=3)
    )

    assert queued == 2  # the customer's e-mail and the provider's
    assert reminders.moved == 1
    assert lateness.moved == pytest.approx(180)


async def test_a_busy_calendar_that_cannot_be_fetched_is_counted_as_a_failed_sync(
    client: httpx.AsyncClient, service: dict[str, Any], job_ctx: JobContext
) -> None:
    failures = Reading("appointly_calendar_sync_failures_total", kind="busy_feed")
    nobody_listens = f"http://127.0.0.1:{free_port()}/busy.ics"
    put = await client.put("/api/providers/me/busy-calendars", json={"urls": [nobody_listens]})
    assert put.status_code == 200, put.text

    await sync_due_calendars(job_ctx, datetime.now(UTC) + timedelta(minutes=11))

    [calendar] = (await client.get("/api/providers/me/busy-calendars")).json()["busy_calendars"]
    assert calendar["last_error"]
    assert failures.moved == 1
