"""POST /api/bookings/{id}/reschedule (the customer) and /api/appointments/{id}/reschedule (the
provider): the same booking moves to another time, in one transaction, as the contract says."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from icalendar import Calendar
from websockets.asyncio.client import connect

from server.notifications.delivery import deliver_due
from tests.conftest import LiveApp, Mailbox, make_provider
from tests.support.booking import (
    book,
    free_slots,
    make_started,
    manage_key,
    service_body,
    slots_of,
    tomorrow,
)
from tests.support.sockets import session_cookie_header, watch_slots, ws_url
from tests.support.waitlist import a_day_ahead, cancel, entry_of, fill_day, join, small_service

CUSTOMER_EMAIL = "grace@example.com"


async def book_at(
    guest: httpx.AsyncClient, service: dict[str, Any], index: int, day: date | None = None
) -> dict[str, Any]:
    slot = (await free_slots(guest, service["id"], day or tomorrow()))[index]
    response = await book(guest, slot["id"])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def customer_moves(
    http: httpx.AsyncClient, booking: dict[str, Any], slot_id: str, *, key: str | None = None
) -> httpx.Response:
    appointment_id = booking["appointment"]["id"]
    return await http.post(
        f"/api/bookings/{appointment_id}/reschedule",
        params={"key": key if key is not None else manage_key(booking)},
        json={"slot_id": slot_id},
    )


async def provider_moves(
    http: httpx.AsyncClient, appointment_id: str, slot_id: str
) -> httpx.Response:
    return await http.post(
        f"/api/appointments/{appointment_id}/reschedule", json={"slot_id": slot_id}
    )


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_a_customer_moves_the_same_booking_to_a_free_time_and_it_waits_for_confirmation(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    booking = await book_at(guest, service, 0)
    appointment_id = booking["appointment"]["id"]
    assert (await client.post(f"/api/appointments/{appointment_id}/confirm")).status_code == 200
    target = (await free_slots(guest, service["id"], tomorrow()))[3]

    response = await customer_moves(guest, booking, target["id"])

    assert response.status_code == 200, response.text
    moved = response.json()["appointment"]
    assert moved["id"] == appointment_id
    assert (moved["start_time"], moved["end_time"], moved["token"]) == (
        target["start_time"],
        target["end_time"],
        target["token"],
    )
    assert moved["status"] == "PENDING"
    assert moved["payment_status"] == booking["appointment"]["payment_status"]
    # The manage link still opens it; the absorbed free row is gone; the old time is free.
    again = await guest.get(f"/api/bookings/{appointment_id}", params={"key": manage_key(booking)})
    assert again.json()["appointment"]["start_time"] == target["start_time"]
    assert (
        await db.fetchval("SELECT count(*) FROM appointments WHERE id = $1::uuid", target["id"])
        == 0
    )
    free_now = {
        slot["start_time"]: slot for slot in await free_slots(guest, service["id"], tomorrow())
    }
    assert booking["appointment"]["start_time"] in free_now
    assert target["start_time"] not in free_now


async def test_a_provider_move_keeps_the_status(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    booking = await book_at(guest, service, 0)
    appointment_id = booking["appointment"]["id"]
    assert (await client.post(f"/api/appointments/{appointment_id}/confirm")).status_code == 200
    target = (await free_slots(guest, service["id"], tomorrow() + timedelta(days=1)))[2]

    response = await provider_moves(client, appointment_id, target["id"])

    assert response.status_code == 200, response.text
    moved = response.json()["appointment"]
    assert (moved["id"], moved["status"], moved["start_time"]) == (
        appointment_id,
        "CONFIRMED",
        target["start_time"],
    )


async def test_history_records_the_move_with_both_times(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    booking = await book_at(guest, service, 1)
    target = (await free_slots(guest, service["id"], tomorrow()))[5]
    assert (await customer_moves(guest, booking, target["id"])).status_code == 200

    row = await db.fetchrow(
        """
        SELECT actor, from_status, to_status, lower(moved_from) AS was, lower(moved_to) AS now
          FROM appointment_events
         WHERE appointment_id = $1::uuid AND moved_to IS NOT NULL
        """,
        booking["appointment"]["id"],
    )
    assert row is not None
    assert (row["actor"], row["from_status"], row["to_status"]) == (
        "customer",
        "PENDING",
        "PENDING",
    )
    assert row["was"] == datetime.fromisoformat(booking["appointment"]["start_time"])
    assert row["now"] == datetime.fromisoformat(target["start_time"])


async def test_only_the_customer_or_the_owning_provider_may_move_it(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    become_provider: Any,
) -> None:
    booking = await book_at(guest, service, 0)
    appointment_id = booking["appointment"]["id"]
    target = (await free_slots(guest, service["id"], tomorrow()))[4]

    assert (await customer_moves(guest, booking, target["id"], key="wrong")).status_code == 404
    async with live_app.client() as other:
        await make_provider(other, business_name="Someone Else", email="else@example.com")
        refused = await provider_moves(other, appointment_id, target["id"])
    assert refused.status_code == 404
    assert error_code(refused) == "appointment_not_found"


async def test_a_reused_old_link_cannot_make_a_second_booking(
    guest: httpx.AsyncClient, service: dict[str, Any], db: asyncpg.Connection
) -> None:
    booking = await book_at(guest, service, 0)
    first, second = (await free_slots(guest, service["id"], tomorrow()))[3:5]
    assert (await customer_moves(guest, booking, first["id"])).status_code == 200
    assert (await customer_moves(guest, booking, second["id"])).status_code == 200

    live = await db.fetchval(
        "SELECT count(*) FROM appointments WHERE customer_email = $1 AND booked AND occupies_slot",
        CUSTOMER_EMAIL,
    )
    assert live == 1


async def test_errors_say_what_is_wrong_with_the_new_time(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    booking = await book_at(guest, service, 0)
    taken = await book_at(guest, service, 0)
    other_service = (await client.post("/api/services", json=service_body(name="Other"))).json()[
        "service"
    ]
    elsewhere = (await free_slots(guest, other_service["id"], tomorrow()))[0]

    answers = {
        "slot_taken": await customer_moves(guest, booking, taken["appointment"]["id"]),
        "other_service": await customer_moves(guest, booking, elsewhere["id"]),
        "slot_not_found": await customer_moves(
            guest, booking, "00000000-0000-4000-8000-000000000000"
        ),
    }
    assert {code: (r.status_code, error_code(r)) for code, r in answers.items()} == {
        "slot_taken": (409, "slot_taken"),
        "other_service": (422, "other_service"),
        "slot_not_found": (404, "slot_not_found"),
    }
    malformed = await customer_moves(guest, booking, "not-a-uuid")
    assert malformed.status_code == 422


async def test_an_ended_booking_cannot_move(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    booking = await book_at(guest, service, 0)
    appointment_id = booking["appointment"]["id"]
    assert (await client.post(f"/api/appointments/{appointment_id}/reject")).status_code == 200
    target = (await free_slots(guest, service["id"], tomorrow()))[3]

    for response in (
        await customer_moves(guest, booking, target["id"]),
        await provider_moves(client, appointment_id, target["id"]),
    ):
        assert (response.status_code, error_code(response)) == (409, "invalid_transition")


async def test_customers_cannot_move_inside_the_cut_off_but_the_provider_can_until_the_start(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    booking = await book_at(guest, service, 0)
    appointment_id = booking["appointment"]["id"]
    patch = await client.patch(
        f"/api/services/{service['id']}", json={"cancel_cutoff_minutes": 3 * 1440}
    )
    assert patch.status_code == 200, patch.text
    target = (await free_slots(guest, service["id"], tomorrow() + timedelta(days=5)))[0]

    refused = await customer_moves(guest, booking, target["id"])
    assert (refused.status_code, error_code(refused)) == (409, "too_late_to_reschedule")
    assert (await provider_moves(client, appointment_id, target["id"])).status_code == 200

    started = await book_at(guest, service, 1)
    await make_started(db, started["appointment"]["id"])
    later = (await free_slots(guest, service["id"], tomorrow() + timedelta(days=5)))[0]
    refused = await provider_moves(client, started["appointment"]["id"], later["id"])
    assert (refused.status_code, error_code(refused)) == (409, "too_late_to_reschedule")


async def test_a_new_time_inside_the_minimum_notice_is_refused(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    booking = await book_at(guest, service, 0, day=tomorrow() + timedelta(days=5))
    soon = (await free_slots(guest, service["id"], tomorrow()))[0]
    patch = await client.patch(
        f"/api/services/{service['id']}", json={"min_notice_minutes": 3 * 1440}
    )
    assert patch.status_code == 200, patch.text

    for response in (
        await customer_moves(guest, booking, soon["id"]),
        await provider_moves(client, booking["appointment"]["id"], soon["id"]),
    ):
        assert (response.status_code, error_code(response)) == (409, "too_late_to_book")


async def test_watchers_see_both_times_change_and_the_provider_hears_rescheduled(
    live_app: LiveApp, client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    booking = await book_at(guest, service, 0)
    old_start = booking["appointment"]["start_time"]
    target = (await free_slots(guest, service["id"], tomorrow()))[3]
    url = ws_url(live_app.url, "/ws/provider")
    async with (
        watch_slots(live_app.url, service["id"], tomorrow()) as watcher,
        connect(url, additional_headers=session_cookie_header(client)) as provider_socket,
    ):
        assert (await customer_moves(guest, booking, target["id"])).status_code == 200

        def moved(view: dict[str, Any]) -> bool:
            new, old = view.get(target["start_time"], {}), view.get(old_start, {})
            return (
                new.get("id") == booking["appointment"]["id"]
                and not new.get("available")
                and old.get("available") is True
            )

        await watcher.wait_for_view(moved)
        frame = orjson.loads(await provider_socket.recv())
    assert frame["type"] == "appointment"
    assert frame["event"] == "rescheduled"
    assert frame["appointment"]["start_time"] == target["start_time"]
    assert frame["previous"] == {
        "start_time": old_start,
        "end_time": booking["appointment"]["end_time"],
    }


# --- E-mail -----------------------------------------------------------------------------------


async def deliver(db_pool: Any, live_app: LiveApp) -> int:
    return await deliver_due(db_pool, live_app.config)


def calendar_event(message: EmailMessage) -> Any:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    [event] = Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    return event


@pytest.mark.parametrize("mover", ["customer", "provider"])
async def test_each_side_gets_one_rescheduled_email_and_the_ics_replaces_the_earlier_event(
    mover: str,
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    mailbox: Mailbox,
    db_pool: Any,
) -> None:
    booking = await book_at(guest, service, 0)
    appointment_id = booking["appointment"]["id"]
    assert (await client.post(f"/api/appointments/{appointment_id}/confirm")).status_code == 200
    await deliver(db_pool, live_app)
    confirmed = await mailbox.wait_for(lambda m: str(m["Subject"]).startswith("Confirmed"))
    mailbox.messages.clear()
    target = (await free_slots(guest, service["id"], tomorrow() + timedelta(days=1)))[2]

    if mover == "customer":
        response = await customer_moves(guest, booking, target["id"])
    else:
        response = await provider_moves(client, appointment_id, target["id"])
    assert response.status_code == 200, response.text
    assert await deliver(db_pool, live_app) == 2

    to_customer = await mailbox.wait_for(lambda m: m["To"] == CUSTOMER_EMAIL)
    to_provider = await mailbox.wait_for(lambda m: m["To"] != CUSTOMER_EMAIL)
    assert str(to_customer["Subject"]).strip().startswith("Moved: Consultation")
    assert str(to_provider["Subject"]).strip().startswith("Moved: Grace Hopper")
    before, after = calendar_event(confirmed), calendar_event(to_customer)
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) > int(before.get("sequence", 0))
    assert after.decoded("dtstart") == datetime.fromisoformat(target["start_time"])
    assert await deliver(db_pool, live_app) == 0
    assert len(mailbox.messages) == 2


async def test_a_second_move_sends_a_second_email_with_a_higher_sequence(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    mailbox: Mailbox,
    db_pool: Any,
) -> None:
    booking = await book_at(guest, service, 0)
    first, second = (await free_slots(guest, service["id"], tomorrow()))[3:5]
    await deliver(db_pool, live_app)
    mailbox.messages.clear()

    assert (await customer_moves(guest, booking, first["id"])).status_code == 200
    assert (await customer_moves(guest, booking, second["id"])).status_code == 200
    assert await deliver(db_pool, live_app) == 4

    moved = [m for m in mailbox.messages if m["To"] == CUSTOMER_EMAIL]
    sequences = sorted(int(calendar_event(message)["sequence"]) for message in moved)
    assert len(sequences) == 2 and sequences[0] < sequences[1]


# --- The waitlist -----------------------------------------------------------------------------


async def test_moving_away_from_a_full_day_offers_the_old_time_to_its_waitlist_first(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, become_provider: Any
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    bookings = await fill_day(client, service["id"], day)
    waiting = await join(guest, service["id"], day, "first@example.com")
    later = (await free_slots(guest, service["id"], day + timedelta(days=1)))[0]
    moving = bookings[0]

    moved = await guest.post(
        f"/api/bookings/{moving.appointment['id']}/reschedule",
        params={"key": moving.key},
        json={"slot_id": later["id"]},
    )

    assert moved.status_code == 200, moved.text
    entry = await entry_of(guest, waiting)
    assert entry["status"] == "offered"
    assert entry["offer"]["slot"]["start_time"] == moving.appointment["start_time"]
    held = [
        slot
        for slot in await slots_of(guest, service["id"], day)
        if slot["start_time"] == moving.appointment["start_time"]
    ]
    assert [slot["available"] for slot in held] == [False]


async def test_a_time_held_for_the_waitlist_cannot_be_moved_into(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, become_provider: Any
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    first, second = await fill_day(client, service["id"], day)
    await join(guest, service["id"], day, "first@example.com")
    await cancel(guest, first)
    [held] = [
        slot
        for slot in await slots_of(guest, service["id"], day)
        if slot["start_time"] == first.appointment["start_time"]
    ]

    for response in (
        await guest.post(
            f"/api/bookings/{second.appointment['id']}/reschedule",
            params={"key": second.key},
            json={"slot_id": held["id"]},
        ),
        await provider_moves(client, second.appointment["id"], held["id"]),
    ):
        assert (response.status_code, error_code(response)) == (409, "slot_taken")
