"""A customer may cancel until the service's cut-off before the start, never after the start;
a provider until the start. Past that a cancel would refund a visit that took place."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from server.domain.cutoffs import (
    check_customer_may_cancel,
    check_customer_may_reschedule,
    check_provider_may_cancel,
    customer_change_deadline,
)
from server.domain.rules import RuleBroken
from tests.support.booking import book, free_slots, make_started, manage_key, tomorrow
from tests.support.stripe_stub import StripeStandIn
from tests.support.stripe_webhooks import book_online, pay

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# --- The rule, without a database ---------------------------------------------------------------


def test_a_customer_may_cancel_until_the_cut_off_before_the_start() -> None:
    deadline = customer_change_deadline(START, 24 * 60)
    assert deadline == START - timedelta(days=1)
    check_customer_may_cancel(START, 24 * 60, now=deadline - timedelta(seconds=1))
    with pytest.raises(RuleBroken) as refused:
        check_customer_may_cancel(START, 24 * 60, now=deadline)
    assert refused.value.code == "too_late_to_cancel"
    assert "1 day before the start" in refused.value.message


def test_without_a_cut_off_a_customer_may_cancel_until_the_start_and_never_after() -> None:
    check_customer_may_cancel(START, 0, now=START - timedelta(minutes=1))
    for moment in (START, START + timedelta(minutes=5), START + timedelta(days=30)):
        with pytest.raises(RuleBroken) as refused:
            check_customer_may_cancel(START, 0, now=moment)
        assert refused.value.code == "too_late_to_cancel"


def test_rescheduling_follows_the_same_cut_off_with_its_own_code() -> None:
    check_customer_may_reschedule(START, 90, now=START - timedelta(minutes=91))
    with pytest.raises(RuleBroken) as refused:
        check_customer_may_reschedule(START, 90, now=START - timedelta(minutes=90))
    assert refused.value.code == "too_late_to_reschedule"


def test_a_provider_may_cancel_until_the_start_whatever_the_cut_off() -> None:
    check_provider_may_cancel(START, now=START - timedelta(seconds=1))
    with pytest.raises(RuleBroken) as refused:
        check_provider_may_cancel(START, now=START)
    assert refused.value.code == "too_late_to_cancel"


# --- Through the API ----------------------------------------------------------------------------


async def set_cut_off(db: asyncpg.Connection, service_id: str, minutes: int) -> None:
    await db.execute(
        "UPDATE services SET cancel_cutoff_minutes = $2 WHERE id = $1::uuid", service_id, minutes
    )


async def cancel(http: httpx.AsyncClient, booking: dict[str, Any]) -> httpx.Response:
    appointment_id = booking["appointment"]["id"]
    return await http.post(
        f"/api/bookings/{appointment_id}/cancel", params={"key": manage_key(booking)}
    )


async def status_of(db: asyncpg.Connection, appointment_id: str) -> str:
    found: str = await db.fetchval(
        "SELECT status FROM appointments WHERE id = $1::uuid", appointment_id
    )
    return found


async def test_a_customer_cancel_inside_the_cut_off_is_refused_and_keeps_the_booking(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booking = (await book(guest, slot["id"])).json()
    await set_cut_off(db, service["id"], 3 * 24 * 60)  # tomorrow is inside three days

    response = await cancel(guest, booking)

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "too_late_to_cancel"
    assert await status_of(db, slot["id"]) == "PENDING"
    still_taken = {s["start_time"] for s in await free_slots(guest, service["id"], tomorrow())}
    assert slot["start_time"] not in still_taken


async def test_a_customer_cancel_before_the_cut_off_goes_through(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booking = (await book(guest, slot["id"])).json()
    await set_cut_off(db, service["id"], 60)  # tomorrow's first slot is hours away

    response = await cancel(guest, booking)

    assert response.status_code == 200, response.text
    assert response.json()["appointment"]["status"] == "CANCELLED"


@pytest.mark.usefixtures("fresh_stand_in")
async def test_a_paid_booking_cancelled_after_the_visit_is_refused_and_not_refunded(
    guest: httpx.AsyncClient,
    paid_service: dict[str, Any],
    stripe_stand_in: StripeStandIn,
    db: asyncpg.Connection,
) -> None:
    slot = (await free_slots(guest, paid_service["id"], tomorrow()))[0]
    booking = await book_online(guest, slot)
    await pay(guest, stripe_stand_in, booking)
    await make_started(db, slot["id"])  # the visit took place; no cut-off is set

    response = await cancel(guest, booking)

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "too_late_to_cancel"
    assert await status_of(db, slot["id"]) == "PENDING"
    refunds = await db.fetchval(
        "SELECT count(*) FROM refunds WHERE appointment_id = $1::uuid", slot["id"]
    )
    assert refunds == 0


async def test_the_booking_page_offers_cancelling_only_until_the_cut_off_and_says_until_when(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booking = (await book(guest, slot["id"])).json()
    page_url = f"/bookings/{slot['id']}?key={manage_key(booking)}"
    await set_cut_off(db, service["id"], 120)

    open_page = (await guest.get(page_url)).text
    assert "data-cancel-booking" in open_page
    start = datetime.fromisoformat(slot["start_time"])
    deadline = start - timedelta(hours=2)
    assert re.search(f"Free cancellation until [^<]*, {deadline:%H:%M} ", open_page)

    await set_cut_off(db, service["id"], 3 * 24 * 60)
    closed_page = (await guest.get(page_url)).text
    assert "data-cancel-booking" not in closed_page
    assert "Free cancellation ended" in closed_page
