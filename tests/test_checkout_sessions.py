"""A booking's Checkout Session at Stripe: closed before its hold is freed, closed when the
booking ends unpaid, delayed payment methods, replays that answer the Checkout URL, and a
booking that never holds a database connection while Stripe answers (issue 11, money points
2, 3 and 6, and 13's Stripe part). Real SDK against the stand-in, real signed webhooks."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from jobs.context import JobContext
from jobs.payments import expire_unpaid_holds, make_due_refunds
from server.infra.state import EXTENSION_KEY
from tests.conftest import LiveApp
from tests.support.booking import book, cancelled_history, free_slots, tomorrow
from tests.support.stripe_checkout import complete_payment, settle_delayed_payment
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import (
    after_hold,
    appointment_of,
    book_first_slot,
    booking_api_path,
    deliver,
    session_for,
    stripe_event,
)

CHECKOUT = "/v1/checkout/sessions"


pytestmark = pytest.mark.usefixtures("fresh_stand_in")


def session_of(stand_in: StripeStandIn, booking: dict[str, Any]) -> dict[str, Any]:
    return session_for(stand_in, booking["appointment"]["id"])


def expire_calls(stand_in: StripeStandIn, session: dict[str, Any]) -> int:
    return len(stand_in.requests_to("POST", f"{CHECKOUT}/{session['id']}/expire"))


async def state(guest: httpx.AsyncClient, booking: dict[str, Any]) -> tuple[str, str, Any]:
    shown = await appointment_of(guest, booking)
    return shown["status"], shown["payment_status"], shown["refund_status"]


async def is_offered(guest: httpx.AsyncClient, service: dict[str, Any], start: str) -> bool:
    return start in {s["start_time"] for s in await free_slots(guest, service["id"], tomorrow())}


# --- Point 2: the session is closed at Stripe before the hold is freed ---------------------------


async def test_a_payment_at_the_last_second_is_recorded_instead_of_freeing_the_hold(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
    db: asyncpg.Connection,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    paid = complete_payment(stripe_stand_in, session_of(stripe_stand_in, booking)["id"])

    # The sweep runs before Stripe's completed event arrives.
    assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 0
    assert await state(guest, booking) == ("PENDING", "paid", None)
    intent = await db.fetchval(
        "SELECT stripe_payment_intent_id FROM appointments WHERE id = $1::uuid",
        booking["appointment"]["id"],
    )
    assert intent == paid["payment_intent"]

    # Then the event: already known, nothing more happens (no refund, no second payment).
    assert (await deliver(guest, stripe_event("checkout.session.completed", paid))).is_success
    assert await state(guest, booking) == ("PENDING", "paid", None)
    assert stripe_stand_in.requests_to("POST", "/v1/refunds") == []


async def test_a_hold_stays_while_stripe_cannot_close_its_session(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session = session_of(stripe_stand_in, booking)
    start = booking["appointment"]["start_time"]
    stripe_stand_in.outage("error")
    try:
        assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 0
    finally:
        stripe_stand_in.end_outage()
    # Stripe was asked first and could not answer: the session may still be paid, so the slot
    # stays held rather than being offered to someone else.
    assert await state(guest, booking) == ("PENDING", "awaiting_payment", None)
    assert not await is_offered(guest, paid_service, start)

    assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 1
    assert stripe_stand_in.checkout_sessions[session["id"]]["status"] == "expired"
    assert (await state(guest, booking))[0] == "CANCELLED"
    assert await is_offered(guest, paid_service, start)


async def test_with_stripe_down_a_hold_is_freed_once_stripe_expired_the_session_itself(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    booked_at = datetime.fromisoformat(booking["appointment"]["created_at"])
    stripe_stand_in.outage("error")
    try:
        assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 0
        # Past the session's own expires_at (30 minutes and a margin), nobody can pay on it.
        later = booked_at + timedelta(minutes=32)
        assert await expire_unpaid_holds(job_ctx, now=later) == 1
    finally:
        stripe_stand_in.end_outage()
    assert (await state(guest, booking))[0] == "CANCELLED"


@pytest.mark.parametrize("who", ["customer cancels", "provider rejects", "provider cancels"])
async def test_ending_an_unpaid_booking_expires_its_session_even_after_a_stripe_outage(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
    db: asyncpg.Connection,
    who: str,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session = session_of(stripe_stand_in, booking)
    appointment_id = booking["appointment"]["id"]
    if who == "customer cancels":
        ended = await guest.post(booking_api_path(booking, "/cancel"))
    else:
        action = "reject" if who == "provider rejects" else "cancel"
        ended = await client.post(f"/api/appointments/{appointment_id}/{action}", json={})
    assert ended.status_code == 200, ended.text

    stripe_stand_in.outage("error")
    try:
        await expire_unpaid_holds(job_ctx)
    finally:
        stripe_stand_in.end_outage()
    assert stripe_stand_in.checkout_sessions[session["id"]]["status"] == "open"

    await expire_unpaid_holds(job_ctx)  # retried by the next run
    assert stripe_stand_in.checkout_sessions[session["id"]]["status"] == "expired"
    closed = await db.fetchval(
        "SELECT checkout_closed_at FROM appointments WHERE id = $1::uuid", appointment_id
    )
    assert closed is not None
    calls = expire_calls(stripe_stand_in, session)
    await expire_unpaid_holds(job_ctx)  # closed once: not asked again
    assert expire_calls(stripe_stand_in, session) == calls


async def test_a_payment_that_beat_the_cancellation_is_refunded(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200
    complete_payment(stripe_stand_in, session_of(stripe_stand_in, booking)["id"])

    await expire_unpaid_holds(job_ctx)
    assert await state(guest, booking) == ("CANCELLED", "paid", "requested")
    assert await make_due_refunds(job_ctx) == 1
    assert (await state(guest, booking))[1] == "refunded"


# --- Point 3: delayed payment methods ------------------------------------------------------------


async def test_a_delayed_payment_keeps_its_hold_until_it_succeeds(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session_id = session_of(stripe_stand_in, booking)["id"]
    processing = complete_payment(stripe_stand_in, session_id, delayed=True)
    assert processing["payment_status"] == "unpaid"
    event = stripe_event("checkout.session.completed", processing)
    assert (await deliver(guest, event)).is_success

    assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 0
    assert await state(guest, booking) == ("PENDING", "awaiting_payment", None)
    calls = len(stripe_stand_in.requests)
    # Until the next check is due, the sweep does not even ask Stripe.
    assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 0
    assert len(stripe_stand_in.requests) == calls

    succeeded = settle_delayed_payment(stripe_stand_in, session_id, succeeded=True)
    paid_event = stripe_event("checkout.session.async_payment_succeeded", succeeded)
    assert (await deliver(guest, paid_event)).is_success
    assert await state(guest, booking) == ("PENDING", "paid", None)
    assert (await deliver(guest, paid_event)).is_success  # redelivered: nothing more
    assert await state(guest, booking) == ("PENDING", "paid", None)


async def test_the_sweep_keeps_a_processing_payment_even_without_its_event(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session_id = session_of(stripe_stand_in, booking)["id"]
    complete_payment(stripe_stand_in, session_id, delayed=True)
    assert await expire_unpaid_holds(job_ctx, now=after_hold(booking)) == 0
    assert await state(guest, booking) == ("PENDING", "awaiting_payment", None)

    # Hours later it failed, and the failure event was lost: the next check frees the slot.
    settle_delayed_payment(stripe_stand_in, session_id, succeeded=False)
    later = after_hold(booking) + timedelta(hours=2)
    assert await expire_unpaid_holds(job_ctx, now=later) == 1
    assert (await state(guest, booking))[0] == "CANCELLED"


async def test_a_failed_delayed_payment_frees_the_slot(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session_id = session_of(stripe_stand_in, booking)["id"]
    processing = complete_payment(stripe_stand_in, session_id, delayed=True)
    assert (await deliver(guest, stripe_event("checkout.session.completed", processing))).is_success
    failed = settle_delayed_payment(stripe_stand_in, session_id, succeeded=False)
    event = stripe_event("checkout.session.async_payment_failed", failed)
    assert (await deliver(guest, event)).is_success

    assert (await state(guest, booking))[:2] == ("CANCELLED", "awaiting_payment")
    assert await is_offered(guest, paid_service, booking["appointment"]["start_time"])
    assert await cancelled_history(db, booking["appointment"]["id"]) == [
        ("system", "payment not completed")
    ]
    assert (await deliver(guest, event)).is_success  # redelivered: nothing more


async def test_a_delayed_payment_for_a_cancelled_booking_is_refunded(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    job_ctx: JobContext,
) -> None:
    booking = await book_first_slot(guest, paid_service)
    session_id = session_of(stripe_stand_in, booking)["id"]
    processing = complete_payment(stripe_stand_in, session_id, delayed=True)
    assert (await deliver(guest, stripe_event("checkout.session.completed", processing))).is_success
    assert (await guest.post(booking_api_path(booking, "/cancel"))).status_code == 200

    succeeded = settle_delayed_payment(stripe_stand_in, session_id, succeeded=True)
    event = stripe_event("checkout.session.async_payment_succeeded", succeeded)
    assert (await deliver(guest, event)).is_success
    assert await state(guest, booking) == ("CANCELLED", "paid", "requested")
    assert await make_due_refunds(job_ctx) == 1
    assert (await state(guest, booking))[1] == "refunded"


# --- Point 6: a replay answers with the Checkout URL ---------------------------------------------


async def test_a_replay_while_the_first_request_talks_to_stripe_gets_the_checkout_url(
    guest: httpx.AsyncClient, paid_service: dict[str, Any], stripe_stand_in: StripeStandIn
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    headers = {"Idempotency-Key": "retry-after-network-error"}
    stripe_stand_in.pause("POST", CHECKOUT)
    first = asyncio.create_task(book(guest, slot["id"], headers=headers))
    await stripe_stand_in.wait_for_requests("POST", CHECKOUT, 1)

    replay = asyncio.create_task(book(guest, slot["id"], headers=headers))
    await stripe_stand_in.wait_for_requests("POST", CHECKOUT, 2)  # same Stripe key: 409, retried
    stripe_stand_in.resume("POST", CHECKOUT)
    first_answer, replay_answer = await first, await replay

    assert first_answer.status_code == replay_answer.status_code == 201, replay_answer.text
    url = first_answer.json()["checkout_url"]
    assert url is not None
    assert replay_answer.json()["checkout_url"] == url
    assert replay_answer.json()["appointment"]["id"] == first_answer.json()["appointment"]["id"]
    assert len(stripe_stand_in.checkout_sessions) == 1


async def test_a_replay_after_a_lost_answer_gets_the_stored_checkout_url(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    headers = {"Idempotency-Key": "client-went-away"}
    first = await book(guest, slot["id"], headers=headers)
    assert first.status_code == 201, first.text
    # What a request cut off after booking but before its last write leaves behind.
    await db.execute(
        "UPDATE idempotency_keys SET response = jsonb_set(response, '{checkout_url}', 'null')"
    )
    calls = len(stripe_stand_in.requests)

    replay = await book(guest, slot["id"], headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.json()["checkout_url"] == first.json()["checkout_url"]
    assert len(stripe_stand_in.requests) == calls  # from the booking, not from Stripe


# --- Point 13 (its Stripe part): no pooled connection waits on Stripe ----------------------------


async def test_a_booking_holds_no_database_connection_while_stripe_answers(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
) -> None:
    pool = live_app.app.extensions[EXTENSION_KEY].pool
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    stripe_stand_in.pause("POST", CHECKOUT)
    booking = asyncio.create_task(book(guest, slot["id"]))
    try:
        await stripe_stand_in.wait_for_requests("POST", CHECKOUT, 1)
        in_use = pool.get_size() - pool.get_idle_size()
    finally:
        stripe_stand_in.resume("POST", CHECKOUT)
    assert (await booking).status_code == 201
    assert in_use == 0
