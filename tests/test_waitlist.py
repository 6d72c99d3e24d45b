"""The waitlist: a freed slot is offered to the first in line in the transaction that frees it,
held for them (unavailable to everyone else), told live and by one e-mail; an offer that runs
out or is declined passes to the next; nobody waiting frees the slot for all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from jobs.context import JobContext
from jobs.waitlist import expire_due_offers
from server.notifications.delivery import deliver_due
from tests.conftest import LiveApp, Mailbox
from tests.support.booking import GUEST, book, slots_of
from tests.support.sockets import watch_slots
from tests.support.waitlist import (
    a_day_ahead,
    cancel,
    entry_of,
    fill_day,
    join,
    key_of,
    small_service,
    watch_entry,
)

OFFER_MINUTES = 15


@pytest.fixture
async def full_day(client: httpx.AsyncClient, become_provider: Any) -> dict[str, Any]:
    """A service whose day (two slots) is fully booked: {"service", "day", "bookings"}."""
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    bookings = await fill_day(client, service["id"], day)
    assert len(bookings) == 2
    return {"service": service, "day": day, "bookings": bookings}


async def deliver(db_pool: Any, live_app: LiveApp) -> int:
    return await deliver_due(db_pool, live_app.config)


def mail_to(mailbox: Mailbox, address: str) -> list[Any]:
    return [message for message in mailbox.messages if message["To"] == address]


def later(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def slot_at(slots: list[dict[str, Any]], start_time: str) -> dict[str, Any]:
    return next(slot for slot in slots if slot["start_time"] == start_time)


async def test_three_in_line_the_first_is_offered_live_then_the_second_who_books_it(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    full_day: dict[str, Any],
    db_pool: Any,
    mailbox: Mailbox,
    job_ctx: JobContext,
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    first, second, third = [
        await join(guest, service["id"], day, f"line{n}@example.com") for n in (1, 2, 3)
    ]
    assert [first.body["entry"]["position"], (await entry_of(guest, third))["position"]] == [1, 3]
    freed_start = bookings[0].appointment["start_time"]

    async with (
        watch_entry(live_app.url, first) as first_socket,
        watch_entry(live_app.url, second) as second_socket,
        watch_slots(live_app.url, service["id"], day) as slots_socket,
    ):
        await cancel(guest, bookings[0])
        offered = await first_socket.until(lambda entry: entry["status"] == "offered")
        assert offered["offer"]["slot"]["start_time"] == freed_start
        assert offered["offer"]["slot"]["available"] is False
        assert offered["position"] is None
        # Watchers see the time back, but held: not available to them.
        await slots_socket.wait_for_view(lambda view: freed_start in view)
        assert slots_socket.view[freed_start]["available"] is False
        assert slot_at(await slots_of(guest, service["id"], day), freed_start)["available"] is False
        # The second in line moved from 2 to 1? No: the first still holds their place.
        assert (await entry_of(guest, second))["position"] == 1

        # One e-mail, however often the outbox is swept.
        await deliver(db_pool, live_app)
        await deliver(db_pool, live_app)
        offers = mail_to(mailbox, first.email)
        assert len(offers) == 1
        assert "A time freed up" in offers[0]["Subject"]
        assert f"/waitlist/{first.id}?key=" in offers[0].get_body(("plain",)).get_content()

        # The first lets the offer run out: it goes to the second, live.
        assert await expire_due_offers(job_ctx, now=later(OFFER_MINUTES + 1)) == 1
        expired = await first_socket.until(lambda entry: entry["status"] == "expired")
        assert expired["offer"] is None
        passed = await second_socket.until(lambda entry: entry["status"] == "offered")
        assert passed["offer"]["slot"]["start_time"] == freed_start

    # The second books it with the link from their offer e-mail.
    await deliver(db_pool, live_app)
    (offer_mail,) = mail_to(mailbox, second.email)
    offer_key = key_of(_link_in(offer_mail.get_body(("plain",)).get_content()))
    claimed = await guest.post(f"/api/waitlist/{second.id}/claim", params={"key": offer_key})
    assert claimed.status_code == 201, claimed.text
    body = claimed.json()
    assert set(body) == {"appointment", "checkout_url", "manage_url"}
    assert body["appointment"]["status"] == "PENDING"
    assert body["appointment"]["start_time"] == freed_start
    assert body["appointment"]["customer_email"] == second.email
    assert (await entry_of(guest, second))["status"] == "booked"
    still = await entry_of(guest, third)
    assert (still["status"], still["position"]) == ("waiting", 1)
    assert slot_at(await slots_of(guest, service["id"], day), freed_start)["available"] is False


def _link_in(text: str) -> str:
    return next(word for word in text.split() if "/waitlist/" in word)


async def test_leaving_while_offered_passes_the_offer_on_at_once(
    live_app: LiveApp, guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    first = await join(guest, service["id"], day, "first@example.com")
    second = await join(guest, service["id"], day, "second@example.com")
    async with watch_entry(live_app.url, second) as second_socket:
        await cancel(guest, bookings[1])
        assert (await entry_of(guest, first))["status"] == "offered"
        left = await guest.post(f"/api/waitlist/{first.id}/leave", params={"key": first.key})
        assert left.status_code == 200, left.text
        assert left.json()["entry"]["status"] == "left"
        passed = await second_socket.until(lambda entry: entry["status"] == "offered")
    assert passed["offer"]["slot"]["start_time"] == bookings[1].appointment["start_time"]
    again = await guest.post(f"/api/waitlist/{first.id}/leave", params={"key": first.key})
    assert (again.status_code, again.json()["entry"]["status"]) == (200, "left")
    late = await guest.post(f"/api/waitlist/{first.id}/claim", params={"key": first.key})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "offer_expired")


async def test_someone_ahead_leaving_moves_the_others_up_live(
    live_app: LiveApp, guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    service, day = full_day["service"], full_day["day"]
    first = await join(guest, service["id"], day, "first@example.com")
    second = await join(guest, service["id"], day, "second@example.com")
    async with watch_entry(live_app.url, second) as second_socket:
        assert second_socket.frames[0]["entry"]["position"] == 2
        await guest.post(f"/api/waitlist/{first.id}/leave", params={"key": first.key})
        moved = await second_socket.until(lambda entry: entry["position"] == 1)
    assert moved["status"] == "waiting"


async def test_a_cancellation_with_nobody_waiting_frees_the_slot_for_all(
    live_app: LiveApp, guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    freed_start = bookings[0].appointment["start_time"]
    async with watch_slots(live_app.url, service["id"], day) as slots_socket:
        await cancel(guest, bookings[0])
        await slots_socket.wait_for_view(
            lambda view: view.get(freed_start, {}).get("available") is True
        )
    assert slot_at(await slots_of(guest, service["id"], day), freed_start)["available"] is True


async def test_an_offer_running_out_with_nobody_left_frees_the_slot_for_all_live(
    live_app: LiveApp, guest: httpx.AsyncClient, full_day: dict[str, Any], job_ctx: JobContext
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    only = await join(guest, service["id"], day, "only@example.com")
    freed_start = bookings[0].appointment["start_time"]
    await cancel(guest, bookings[0])
    assert (await entry_of(guest, only))["status"] == "offered"
    async with watch_slots(live_app.url, service["id"], day) as slots_socket:
        assert slots_socket.view[freed_start]["available"] is False
        assert await expire_due_offers(job_ctx, now=later(OFFER_MINUTES + 1)) == 1
        await slots_socket.wait_for_view(
            lambda view: view.get(freed_start, {}).get("available") is True
        )
    assert (await entry_of(guest, only))["status"] == "expired"
    free = slot_at(await slots_of(guest, service["id"], day), freed_start)
    assert (await book(guest, free["id"])).status_code == 201


async def test_an_offer_not_yet_run_out_is_left_alone_by_the_sweep(
    guest: httpx.AsyncClient, full_day: dict[str, Any], job_ctx: JobContext
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    only = await join(guest, service["id"], day, "only@example.com")
    await cancel(guest, bookings[0])
    assert await expire_due_offers(job_ctx, now=later(OFFER_MINUTES - 1)) == 0
    assert (await entry_of(guest, only))["status"] == "offered"


async def test_a_held_slot_cannot_be_booked_by_anyone_else(
    guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    await join(guest, service["id"], day, "first@example.com")
    await cancel(guest, bookings[0])
    held = slot_at(await slots_of(guest, service["id"], day), bookings[0].appointment["start_time"])
    taken = await book(guest, held["id"], customer_email="sneaky@example.com")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "slot_taken")
    queued = await guest.post(
        "/api/bookings", json={**GUEST, "service_id": service["id"], "date": day.isoformat()}
    )
    assert (queued.status_code, queued.json()["error"]["code"]) == (409, "day_full")


async def test_queue_mode_a_freed_token_is_offered_like_any_slot(
    live_app: LiveApp, guest: httpx.AsyncClient, client: httpx.AsyncClient, become_provider: Any
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    queued = []
    for number in range(2):
        response = await guest.post(
            "/api/bookings",
            json={
                **GUEST,
                "customer_email": f"q{number}@example.com",
                "service_id": service["id"],
                "date": day.isoformat(),
            },
        )
        assert response.status_code == 201, response.text
        queued.append(response.json())
    entry = await join(guest, service["id"], day, "waiting@example.com")
    async with watch_entry(live_app.url, entry) as socket:
        first = queued[0]
        response = await guest.post(
            f"/api/bookings/{first['appointment']['id']}/cancel",
            params={"key": key_of(first["manage_url"])},
        )
        assert response.status_code == 200, response.text
        offered = await socket.until(lambda found: found["status"] == "offered")
    assert offered["offer"]["slot"]["token"] == first["appointment"]["token"]
    # The next queue-mode customer does not get the held token.
    late = await guest.post(
        "/api/bookings", json={**GUEST, "service_id": service["id"], "date": day.isoformat()}
    )
    assert (late.status_code, late.json()["error"]["code"]) == (409, "day_full")
    claimed = await guest.post(f"/api/waitlist/{entry.id}/claim", params={"key": entry.key})
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["appointment"]["token"] == first["appointment"]["token"]


async def test_a_closed_day_opened_again_offers_its_times_to_the_line_first(
    live_app: LiveApp, client: httpx.AsyncClient, guest: httpx.AsyncClient, become_provider: Any
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead(3)
    path = f"/api/services/{service['id']}/date-overrides/{day.isoformat()}"
    assert (await client.put(path, json={"hours": []})).status_code == 200
    first = await join(guest, service["id"], day, "first@example.com")
    second = await join(guest, service["id"], day, "second@example.com")
    third = await join(guest, service["id"], day, "third@example.com")
    assert (await client.delete(path)).status_code == 204
    firsts = [await entry_of(guest, entry) for entry in (first, second, third)]
    assert [found["status"] for found in firsts] == ["offered", "offered", "waiting"]
    assert firsts[0]["offer"]["slot"]["token"] == 1  # the earliest time to the first in line
    assert firsts[2]["position"] == 1
    assert [slot["available"] for slot in await slots_of(guest, service["id"], day)] == [
        False,
        False,
    ]


async def test_joining_is_only_for_a_full_day_inside_the_horizon_once_per_email(
    guest: httpx.AsyncClient, full_day: dict[str, Any], client: httpx.AsyncClient
) -> None:
    service, day = full_day["service"], full_day["day"]
    url = f"/api/services/{service['id']}/waitlist"

    async def join_as(email: str, on: Any) -> httpx.Response:
        return await guest.post(url, json={**GUEST, "customer_email": email, "date": str(on)})

    open_day = await join_as("early@example.com", day + timedelta(days=1))
    assert (open_day.status_code, open_day.json()["error"]["code"]) == (409, "slots_available")
    assert (await join_as("Same@Example.com", day)).status_code == 201
    twice = await join_as("same@example.com", day)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_waiting")
    for outside in (day + timedelta(days=400), day - timedelta(days=10)):
        refused = await join_as("far@example.com", outside)
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            409,
            "date_outside_horizon",
        )
    unknown = await guest.post(
        "/api/services/00000000-0000-0000-0000-000000000000/waitlist",
        json={**GUEST, "date": str(day)},
    )
    assert unknown.status_code == 404


async def test_only_the_key_holder_sees_or_changes_an_entry(
    guest: httpx.AsyncClient, full_day: dict[str, Any], client: httpx.AsyncClient
) -> None:
    entry = await join(guest, full_day["service"]["id"], full_day["day"], "mine@example.com")
    for key in (None, "wrong-key"):
        params = {} if key is None else {"key": key}
        assert (await guest.get(f"/api/waitlist/{entry.id}", params=params)).status_code == 404
        left = await guest.post(f"/api/waitlist/{entry.id}/leave", params=params)
        assert left.status_code == 404
    assert (await client.get(f"/api/waitlist/{entry.id}")).status_code == 404
    assert (
        await guest.get("/api/waitlist/not-an-id", params={"key": entry.key})
    ).status_code == 404


async def test_the_provider_sees_who_waits_and_how_many_per_day(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    service, day = full_day["service"], full_day["day"]
    await join(guest, service["id"], day, "ann@example.com", customer_name="Ann")
    await join(guest, service["id"], day, "bob@example.com", customer_name="Bob")
    response = await client.get("/api/dashboard/waitlist", params={"date": day.isoformat()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(e["customer_name"], e["position"]) for e in body["entries"]] == [
        ("Ann", 1),
        ("Bob", 2),
    ]
    assert body["entries"][0]["customer_email"] == "ann@example.com"
    assert body["days"] == [{"date": day.isoformat(), "waiting": 2}]
    async with httpx.AsyncClient(base_url=str(client.base_url)) as stranger:
        assert (await stranger.get("/api/dashboard/waitlist")).status_code == 401


async def test_a_claim_after_the_offer_ran_out_is_refused(
    guest: httpx.AsyncClient, full_day: dict[str, Any], db: asyncpg.Connection
) -> None:
    service, day, bookings = full_day["service"], full_day["day"], full_day["bookings"]
    entry = await join(guest, service["id"], day, "slow@example.com")
    await cancel(guest, bookings[0])
    await db.execute(
        "UPDATE waitlist_offers SET offered_at = now() - interval '1 hour', expires_at = now()"
    )
    late = await guest.post(f"/api/waitlist/{entry.id}/claim", params={"key": entry.key})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "offer_expired")


async def test_the_waitlist_page_keeps_its_key_out_of_referers_and_needs_the_key(
    guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    entry = await join(guest, full_day["service"]["id"], full_day["day"], "page@example.com")
    page = await guest.get(f"/waitlist/{entry.id}", params={"key": entry.key})
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "number <strong data-position>1</strong> in line" in page.text
    assert (await guest.get(f"/waitlist/{entry.id}", params={"key": "nope"})).status_code == 404
