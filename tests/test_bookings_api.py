"""POST /api/bookings and managing one's booking: the claim, its errors, idempotency, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import (
    GUEST,
    book,
    create_service,
    free_slots,
    manage_key,
    slots_of,
    tomorrow,
)


async def test_a_guest_books_a_free_slot_and_it_stops_being_available(
    guest: httpx.AsyncClient, service: dict[str, Any], live_app: LiveApp
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    response = await book(guest, slot["id"], customer_phone="+44 20 7946 0000", notes="Window seat")
    assert response.status_code == 201, response.text
    body = response.json()
    appointment = body["appointment"]
    assert appointment["id"] == slot["id"]
    assert appointment["service_id"] == service["id"]
    assert appointment["service_name"] == "Consultation"
    assert appointment["start_time"] == slot["start_time"]
    assert appointment["end_time"] == slot["end_time"]
    assert appointment["slot_date"] == slot["slot_date"]
    assert appointment["token"] == slot["token"]
    assert appointment["status"] == "PENDING"
    assert appointment["payment_status"] == "pay_at_visit"
    assert appointment["customer_name"] == GUEST["customer_name"]
    assert appointment["customer_email"] == GUEST["customer_email"]
    assert appointment["customer_phone"] == "+44 20 7946 0000"
    assert appointment["notes"] == "Window seat"
    assert appointment["customer_timezone"] is None
    assert body["checkout_url"] is None
    assert body["manage_url"].startswith(f"{live_app.url}/bookings/{slot['id']}?key=")
    after = {s["start_time"]: s for s in await slots_of(guest, service["id"], tomorrow())}
    assert after[slot["start_time"]]["available"] is False


async def test_the_manage_key_is_stored_only_as_a_hash(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booking = (await book(guest, slot["id"])).json()
    stored = await db.fetchval(
        "SELECT manage_key_hash FROM appointments WHERE id = $1::uuid", slot["id"]
    )
    assert stored and manage_key(booking) not in stored
    assert len(stored) == 64


async def test_a_second_booking_of_the_same_slot_is_refused(
    guest: httpx.AsyncClient, service: dict[str, Any], live_app: LiveApp
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201
    async with live_app.client() as other:
        response = await book(other, slot["id"], customer_email="other@example.com")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"customer_email": "not-an-email"}, {"customer_email"}),
        ({"customer_name": "   "}, {"customer_name"}),
        ({"customer_phone": "call me"}, {"customer_phone"}),
        ({"customer_timezone": "Mars/Olympus"}, {"customer_timezone"}),
    ],
)
async def test_bad_customer_details_name_the_field(
    guest: httpx.AsyncClient, service: dict[str, Any], fields: dict[str, str], expected: set[str]
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    response = await book(guest, slot["id"], **fields)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["fields"]) == expected
    assert (await free_slots(guest, service["id"], tomorrow()))[0]["id"] == slot["id"]


async def test_an_unknown_slot_is_404(guest: httpx.AsyncClient, service: dict[str, Any]) -> None:
    response = await book(guest, "00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "slot_not_found"


async def test_a_slot_in_the_past_is_refused(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    slot_id = await db.fetchval(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        VALUES ($1::uuid, $2, $3, $4, 99)
        RETURNING id::text
        """,
        service["id"],
        start.date(),
        start,
        start + timedelta(minutes=30),
    )
    response = await book(guest, slot_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_in_past"


async def test_a_deleted_service_takes_no_bookings(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    await db.execute("UPDATE services SET is_active = false WHERE id = $1::uuid", service["id"])
    response = await book(guest, slot["id"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_neither_a_slot_nor_a_day_is_a_validation_error(
    guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    response = await guest.post("/api/bookings", json=GUEST)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_signed_in_customer_sees_their_booking_without_a_key(
    live_app: LiveApp, service: dict[str, Any]
) -> None:
    async with live_app.client() as customer:
        signup = await customer.post(
            "/api/auth/signup",
            json={"email": "grace@example.com", "password": "correct horse", "name": "Grace"},
        )
        assert signup.status_code == 201
        slots = await free_slots(customer, service["id"], tomorrow())
        later = (await book(customer, slots[3]["id"])).json()["appointment"]
        sooner = (await book(customer, slots[1]["id"])).json()["appointment"]
        mine = await customer.get("/api/me/bookings")
        assert mine.status_code == 200
        assert [a["id"] for a in mine.json()["appointments"]] == [sooner["id"], later["id"]]
        own = await customer.get(f"/api/bookings/{sooner['id']}")
        assert own.status_code == 200
        assert own.json()["appointment"]["id"] == sooner["id"]


async def test_my_bookings_needs_a_session(guest: httpx.AsyncClient) -> None:
    response = await guest.get("/api/me/bookings")
    assert response.status_code == 401


async def test_a_booking_is_private_to_whoever_holds_its_key(
    guest: httpx.AsyncClient, service: dict[str, Any], live_app: LiveApp
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booking = (await book(guest, slot["id"])).json()
    url = f"/api/bookings/{slot['id']}"
    assert (await guest.get(url, params={"key": manage_key(booking)})).status_code == 200
    async with live_app.client() as stranger:
        for params in ({}, {"key": "wrong"}):
            response = await stranger.get(url, params=params)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "appointment_not_found"
    assert (await guest.get("/api/bookings/not-a-uuid", params={"key": "x"})).status_code == 404


async def test_cancelling_keeps_the_booking_on_record_and_offers_the_time_again(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[2]
    booking = (await book(guest, slot["id"])).json()
    key = manage_key(booking)
    assert (await guest.post(f"/api/bookings/{slot['id']}/cancel")).status_code == 404
    response = await guest.post(f"/api/bookings/{slot['id']}/cancel", params={"key": key})
    assert response.status_code == 200, response.text
    assert response.json()["appointment"]["status"] == "CANCELLED"
    again = {s["start_time"]: s for s in await slots_of(guest, service["id"], tomorrow())}
    freed = again[slot["start_time"]]
    assert freed["available"] is True
    assert freed["id"] != slot["id"]
    assert freed["token"] == slot["token"]
    record = await guest.get(f"/api/bookings/{slot['id']}", params={"key": key})
    assert record.json()["appointment"]["status"] == "CANCELLED"
    history = await db.fetch(
        """
        SELECT from_status, to_status, actor
          FROM appointment_events
         WHERE appointment_id = $1::uuid
         ORDER BY id
        """,
        slot["id"],
    )
    assert [tuple(row) for row in history] == [
        (None, "PENDING", "customer"),
        ("PENDING", "CANCELLED", "customer"),
    ]
    twice = await guest.post(f"/api/bookings/{slot['id']}/cancel", params={"key": key})
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "invalid_transition"


async def test_the_history_table_refuses_edits(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201
    with pytest.raises(asyncpg.RaiseError):
        await db.execute("UPDATE appointment_events SET reason = 'edited'")
    with pytest.raises(asyncpg.RaiseError):
        await db.execute("DELETE FROM appointment_events")


async def test_a_retry_with_the_same_idempotency_key_books_once(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    headers = {"Idempotency-Key": "phone-retry-1"}
    first = await book(guest, slot["id"], headers=headers)
    second = await book(guest, slot["id"], headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    booked = await db.fetchval(
        "SELECT count(*) FROM appointments WHERE service_id = $1::uuid AND booked", service["id"]
    )
    assert booked == 1


async def test_reusing_an_idempotency_key_for_another_booking_is_refused(
    guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    first, second = (await free_slots(guest, service["id"], tomorrow()))[:2]
    headers = {"Idempotency-Key": "phone-retry-2"}
    assert (await book(guest, first["id"], headers=headers)).status_code == 201
    response = await book(guest, second["id"], headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


async def test_queue_mode_gives_the_next_token_of_the_day(
    guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow()
    body = {**GUEST, "service_id": service["id"], "date": day.isoformat()}
    tokens = []
    for _ in range(3):
        response = await guest.post("/api/bookings", json=body)
        assert response.status_code == 201, response.text
        tokens.append(response.json()["appointment"]["token"])
    assert tokens == [1, 2, 3]


async def test_queue_mode_on_a_full_day_is_day_full(
    client: httpx.AsyncClient, become_provider: BecomeProvider, guest: httpx.AsyncClient
) -> None:
    await become_provider()
    service = await create_service(client, max_appointments_per_day=1)
    body = {**GUEST, "service_id": service["id"], "date": tomorrow().isoformat()}
    assert (await guest.post("/api/bookings", json=body)).status_code == 201
    response = await guest.post("/api/bookings", json=body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "day_full"
