"""Unpaid holds running out (the expire_holds sweep, Stripe's expired event) and refunds of
paid bookings that end (requested in the move, made by the worker, retried, never lost)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import Worker

from jobs.context import JobContext
from jobs.payments import expire_unpaid_holds, make_due_refunds
from jobs.worker import worker_settings
from server.domain.appointments import Move
from server.infra.job_queue import QUEUE_NAME
from server.usecases.appointments import Actor, move_appointment
from server.usecases.refunds import MAX_ATTEMPTS
from tests.conftest import LiveApp
from tests.support.booking import cancelled_history, free_slots, tomorrow
from tests.support.cli_process import appointly_env, assert_no_traceback, run_appointly
from tests.support.sockets import Frame, watch_slots
from tests.support.stripe_checkout import (
    expire_session,
    refund_stripe_side,
    refunded_charge,
)
from tests.support.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn
from tests.support.stripe_webhooks import (
    after_hold,
    appointment_of,
    book_first_slot,
    book_online,
    booking_api_path,
    deliver,
    pay,
    session_for,
    stripe_event,
)

pytestmark = pytest.mark.usefixtures("fresh_stand_in")


def offered_again(start_time: str, booked_id: str) -> Any:
    def check(view: dict[str, Frame]) -> bool:
        slot = view.get(start_time)
        return slot is not None and slot["available"] and slot["id"] != booked_id

    return check


# --- Holds --------------------------------------------------------------------------------------


async def test_the_sweep_frees_an_expired_hold_and_watchers_see_the_slot_return(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    job_ctx: JobContext,
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    async with watch_slots(live_app.url, paid_service["id"], tomorrow()) as watcher:
        booking = await book_online(guest, slot)
        await watcher.wait_for_view(lambda view: not view[slot["start_time"]]["available"])

        assert await expire_unpaid_holds(job_ctx) == 0  # the hold has not run out yet
        assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 1

        await watcher.wait_for_view(offered_again(slot["start_time"], slot["id"]))
    appointment = await appointment_of(guest, booking)
    assert appointment["status"] == "CANCELLED"
    assert await cancelled_history(db, slot["id"]) == [("system", "payment not completed")]
    session = session_for(stripe_stand_in, slot["id"])
    assert session["status"] == "expired"  # nobody can pay for the freed slot any more
    assert stripe_stand_in.requests_to("POST", f"/v1/checkout/sessions/{session['id']}/expire")


async def test_stripe_expiring_the_session_frees_the_hold(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    async with watch_slots(live_app.url, paid_service["id"], tomorrow()) as watcher:
        booking = await book_online(guest, slot)
        await watcher.wait_for_view(lambda view: not view[slot["start_time"]]["available"])
        expired = expire_session(stripe_stand_in, session_for(stripe_stand_in, slot["id"])["id"])
        event = stripe_event("checkout.session.expired", expired)
        assert (await deliver(guest, event)).status_code == 200
        await watcher.wait_for_view(offered_again(slot["start_time"], slot["id"]))
        assert (await deliver(guest, event)).status_code == 200  # redelivered: nothing more
    assert (await appointment_of(guest, booking))["status"] == "CANCELLED"
    assert await cancelled_history(db, slot["id"]) == [("system", "payment not completed")]


async def test_an_expired_session_of_a_paid_booking_changes_nothing(
    guest: httpx.AsyncClient, paid_service: dict[str, Any], stripe_stand_in: StripeStandIn
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session = await pay(guest, stripe_stand_in, booking)
    expired = {**session, "status": "expired"}
    assert (await deliver(guest, stripe_event("checkout.session.expired", expired))).is_success
    appointment = await appointment_of(guest, booking)
    assert (appointment["status"], appointment["payment_status"]) == ("PENDING", "paid")


async def test_two_sweeps_at_once_free_each_hold_exactly_once(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    job_ctx: JobContext,
    db: asyncpg.Connection,
) -> None:
    slots = (await free_slots(guest, paid_service["id"], tomorrow()))[:6]
    bookings = [await book_online(guest, slot) for slot in slots]
    later = max(after_hold(booking) for booking in bookings)

    freed = await asyncio.gather(
        expire_unpaid_holds(job_ctx, now=later), expire_unpaid_holds(job_ctx, now=later)
    )

    assert sum(freed) == len(slots)
    for slot in slots:
        assert await cancelled_history(db, slot["id"]) == [("system", "payment not completed")]
    offered = {s["start_time"] for s in await free_slots(guest, paid_service["id"], tomorrow())}
    assert {slot["start_time"] for slot in slots} <= offered


@pytest.mark.slow
async def test_run_job_expire_holds_frees_holds_that_ran_out(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    database_url: str,
    redis_url: str,
    live_app: LiveApp,
    db: asyncpg.Connection,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    await db.execute(
        "UPDATE appointments SET hold_expires_at = now() - interval '1 minute' WHERE id = $1::uuid",
        booking["appointment"]["id"],
    )
    env = appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=live_app.config.stripe_api_base,
    )
    finished = await run_appointly("run-job", "expire_holds", env=env)
    assert finished.status == 0, finished.stderr
    assert finished.stdout.strip() == "expire_holds: 1"
    assert_no_traceback(finished.stderr)
    assert (await appointment_of(guest, booking))["status"] == "CANCELLED"


# --- Refunds ------------------------------------------------------------------------------------


async def run_burst_worker(live_app: LiveApp) -> None:
    """A real arq worker on the test Redis that runs what is queued, then stops."""
    settings: Any = worker_settings(live_app.config)
    worker = Worker(
        functions=settings.functions,
        queue_name=QUEUE_NAME,
        redis_settings=settings.redis_settings,
        on_startup=settings.on_startup,
        on_shutdown=settings.on_shutdown,
        ctx=dict(settings.ctx),
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        async with asyncio.timeout(30):
            await worker.main()
    finally:
        await worker.close()


async def queued_job_names(redis_url: str) -> list[str]:
    queue = ArqRedis.from_url(redis_url)
    try:
        return [job.function for job in await queue.queued_jobs(queue_name=QUEUE_NAME)]
    finally:
        await queue.aclose()


async def test_cancelling_a_paid_booking_refunds_it_through_the_worker(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    redis_url: str,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session = await pay(guest, stripe_stand_in, booking)

    cancelled = await guest.post(booking_api_path(booking, "/cancel"))
    assert cancelled.status_code == 200, cancelled.text
    appointment = cancelled.json()["appointment"]
    assert (appointment["status"], appointment["payment_status"]) == ("CANCELLED", "paid")
    assert appointment["refund_status"] == "requested"
    assert "process_refunds" in await queued_job_names(redis_url)

    await run_burst_worker(live_app)

    [sent] = stripe_stand_in.requests_to("POST", "/v1/refunds")
    assert sent.form["payment_intent"] == session["payment_intent"]
    assert sent.form["reverse_transfer"] == "true"
    assert sent.form["refund_application_fee"] == "true"
    assert sent.headers["Idempotency-Key"] == f"appointly-refund-{appointment['id']}"
    appointment = await appointment_of(guest, booking)
    assert (appointment["payment_status"], appointment["refund_status"]) == (
        "refunded",
        "succeeded",
    )
    # Stripe then reports the refunded charge: already known, nothing changes.
    charge = refunded_charge(stripe_stand_in, session["payment_intent"])
    assert (await deliver(guest, stripe_event("charge.refunded", charge))).is_success
    assert await appointment_of(guest, booking) == appointment


async def test_a_provider_rejecting_a_paid_booking_requests_its_refund(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    await pay(guest, stripe_stand_in, booking)
    result = await move_appointment(
        db,
        booking["appointment"]["id"],
        Move.REJECT,
        actor=Actor("provider"),
        authorize=lambda _: None,
        now=datetime.now().astimezone(),
    )
    assert result.refund_requested is True
    assert result.after.refund_status == "requested"
    assert await make_due_refunds(job_ctx) == 1
    assert (await appointment_of(guest, booking))["payment_status"] == "refunded"


async def test_a_refund_stripe_fails_is_visible_and_retried_until_it_succeeds(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
    db: asyncpg.Connection,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    await pay(guest, stripe_stand_in, booking)
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200
    now = datetime.now().astimezone()

    stripe_stand_in.fail_next(500, method="POST", path="/v1/refunds")
    assert await make_due_refunds(job_ctx, now=now) == 0
    failed = await appointment_of(guest, booking)
    assert (failed["payment_status"], failed["refund_status"]) == ("paid", "failed")
    stored = await db.fetchrow(
        "SELECT attempts, last_error FROM refunds WHERE appointment_id = $1::uuid",
        booking["appointment"]["id"],
    )
    assert stored["attempts"] == 1 and "500" in stored["last_error"]

    assert await make_due_refunds(job_ctx, now=now) == 0  # backing off: not due yet
    assert len(stripe_stand_in.requests_to("POST", "/v1/refunds")) == 1

    assert await make_due_refunds(job_ctx, now=now + timedelta(minutes=1)) == 1
    refunded = await appointment_of(guest, booking)
    assert (refunded["payment_status"], refunded["refund_status"]) == ("refunded", "succeeded")
    keys = [
        r.headers["Idempotency-Key"] for r in stripe_stand_in.requests_to("POST", "/v1/refunds")
    ]
    # Stripe answered the first attempt, so the retry asks afresh under a new key.
    appointment_id = booking["appointment"]["id"]
    assert keys == [f"appointly-refund-{appointment_id}", f"appointly-refund-{appointment_id}-2"]


async def test_a_refund_retried_after_a_stripe_error_is_not_answered_with_that_error_again(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    """Stripe keeps an error answer under its idempotency key for 24 hours and replays it."""
    booking = await book_first_slot(guest, paid_service)
    await pay(guest, stripe_stand_in, booking)
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200
    now = datetime.now().astimezone()

    stripe_stand_in.fail_next(500, method="POST", path="/v1/refunds", remembered=True)
    assert await make_due_refunds(job_ctx, now=now) == 0
    assert await make_due_refunds(job_ctx, now=now + timedelta(minutes=1)) == 1

    refunded = await appointment_of(guest, booking)
    assert (refunded["payment_status"], refunded["refund_status"]) == ("refunded", "succeeded")
    replayed = [
        r
        for r in stripe_stand_in.requests_to("POST", "/v1/refunds")
        if r.headers["Idempotency-Key"] == f"appointly-refund-{booking['appointment']['id']}"
    ]
    assert len(replayed) == 1  # the remembered error was never asked for again


async def test_a_refund_retried_after_a_network_error_sends_the_same_idempotency_key(
    paid_service: dict[str, Any],
    guest: httpx.AsyncClient,
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
    db: asyncpg.Connection,
) -> None:
    """No answer means the refund may have been made: only the same key makes a retry safe."""
    booking = await book_first_slot(guest, paid_service)
    await pay(guest, stripe_stand_in, booking)
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200
    now = datetime.now().astimezone()
    unreachable = replace(job_ctx["config"], stripe_api_base="http://127.0.0.1:9")
    assert await make_due_refunds({**job_ctx, "config": unreachable}, now=now) == 0
    stored = await db.fetchrow(
        "SELECT attempts, stripe_idempotency_key FROM refunds WHERE appointment_id = $1::uuid",
        booking["appointment"]["id"],
    )
    assert (stored["attempts"], stored["stripe_idempotency_key"]) == (1, None)

    assert await make_due_refunds(job_ctx, now=now + timedelta(minutes=1)) == 1
    keys = [
        r.headers["Idempotency-Key"] for r in stripe_stand_in.requests_to("POST", "/v1/refunds")
    ]
    assert keys == [f"appointly-refund-{booking['appointment']['id']}"]


async def test_a_refund_waiting_behind_a_slow_stripe_call_is_made_by_one_worker_only(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    """A worker stuck on one slow refund must not keep the next ones claimed past their lease:
    a second worker that takes them over would otherwise make them a second time."""
    intents = []
    for _ in range(2):
        booking = await book_first_slot(guest, paid_service)
        intents.append((await pay(guest, stripe_stand_in, booking))["payment_intent"])
        assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200
    now = datetime.now().astimezone()

    stripe_stand_in.pause("POST", "/v1/refunds")
    first_worker = asyncio.create_task(make_due_refunds(job_ctx, now=now))
    await stripe_stand_in.wait_for_requests("POST", "/v1/refunds", 1)
    # The first worker's lease has run out by the second worker's clock.
    second_worker = asyncio.create_task(make_due_refunds(job_ctx, now=now + timedelta(minutes=6)))
    await stripe_stand_in.wait_for_requests("POST", "/v1/refunds", 2)
    stripe_stand_in.resume("POST", "/v1/refunds")
    await asyncio.gather(first_worker, second_worker)

    asked = [r.form["payment_intent"] for r in stripe_stand_in.requests_to("POST", "/v1/refunds")]
    # The first refund may be asked twice (its lease ran out: the same idempotency key makes
    # that safe); the one behind it is asked once, by whichever worker claimed it.
    assert asked.count(intents[1]) == 1
    for booking_intent in intents:
        assert booking_intent in asked


async def test_a_refund_that_keeps_failing_stays_failed_after_the_last_attempt(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    await pay(guest, stripe_stand_in, booking)
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200
    moment = datetime.now().astimezone()
    for _ in range(MAX_ATTEMPTS + 2):
        stripe_stand_in.fail_next(400, method="POST", path="/v1/refunds", message="No.")
        assert await make_due_refunds(job_ctx, now=moment) == 0
        moment += timedelta(hours=2)
    assert len(stripe_stand_in.requests_to("POST", "/v1/refunds")) == MAX_ATTEMPTS
    appointment = await appointment_of(guest, booking)
    assert (appointment["payment_status"], appointment["refund_status"]) == ("paid", "failed")


async def test_a_refund_made_in_the_stripe_dashboard_is_mirrored(
    guest: httpx.AsyncClient, paid_service: dict[str, Any], stripe_stand_in: StripeStandIn
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session = await pay(guest, stripe_stand_in, booking)
    charge = refund_stripe_side(stripe_stand_in, session["payment_intent"])
    assert (await deliver(guest, stripe_event("charge.refunded", charge))).is_success
    appointment = await appointment_of(guest, booking)
    assert (appointment["payment_status"], appointment["refund_status"]) == (
        "refunded",
        "succeeded",
    )
