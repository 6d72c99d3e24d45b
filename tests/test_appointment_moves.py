"""POST /api/appointments/{id}/confirm|reject|cancel|complete|no-show, as the owning provider.

The allowed moves are the contract's list, checked against every status and move; the rest of
the file is about who may move a booking, races, the slot coming back, history and alerts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, free_slots, make_started, tomorrow
from tests.support.sockets import session_cookie_header, watch_slots, ws_url

MOVES = ("confirm", "reject", "cancel", "complete", "no-show")
STATUSES = ("PENDING", "CONFIRMED", "REJECTED", "CANCELLED", "COMPLETED", "NO_SHOW")
# The contract's allowed moves: (from, move) -> to. Complete and no-show only once started.
ALLOWED = {
    ("PENDING", "confirm"): "CONFIRMED",
    ("PENDING", "reject"): "REJECTED",
    ("PENDING", "cancel"): "CANCELLED",
    ("CONFIRMED", "cancel"): "CANCELLED",
    ("CONFIRMED", "complete"): "COMPLETED",
    ("CONFIRMED", "no-show"): "NO_SHOW",
}
NEEDS_STARTED = frozenset({"complete", "no-show"})
# A provider cannot cancel once the appointment has started (complete or no-show say what
# happened): 409 too_late_to_cancel rather than invalid_transition.
ENDS_AT_START = frozenset({"cancel"})
# How to bring a fresh PENDING booking to each status (started ones only, for the last two).
PATH_TO = {
    "PENDING": (),
    "CONFIRMED": ("confirm",),
    "REJECTED": ("reject",),
    "CANCELLED": ("cancel",),
    "COMPLETED": ("confirm", "complete"),
    "NO_SHOW": ("confirm", "no-show"),
}


def move_cases() -> list[tuple[str, str, bool]]:
    cases = []
    for status in STATUSES:
        for move in MOVES:
            for started in (False, True):
                if status in ("COMPLETED", "NO_SHOW") and not started:
                    continue  # cannot be reached before the start
                cases.append((status, move, started))
    return cases


def expected_status(status: str, move: str, started: bool) -> str | None:
    """The status the move leads to, or None when the contract refuses it."""
    target = ALLOWED.get((status, move))
    if target is None or (move in NEEDS_STARTED and not started):
        return None
    if move in ENDS_AT_START and started:
        return None
    return target


def refusal_code(status: str, move: str, started: bool) -> str:
    """The error code of a refused move."""
    if (status, move) in ALLOWED and move in ENDS_AT_START and started:
        return "too_late_to_cancel"
    return "invalid_transition"


async def booked(guest: httpx.AsyncClient, service: dict[str, Any], index: int = 0) -> str:
    """A PENDING booking of tomorrow's `index`-th slot; its id."""
    slot = (await free_slots(guest, service["id"], tomorrow()))[index]
    response = await book(guest, slot["id"])
    assert response.status_code == 201, response.text
    appointment_id: str = response.json()["appointment"]["id"]
    return appointment_id


async def move(
    http: httpx.AsyncClient, appointment_id: str, action: str, reason: str | None = None
) -> httpx.Response:
    body = None if reason is None else {"reason": reason}
    return await http.post(f"/api/appointments/{appointment_id}/{action}", json=body)


async def status_of(db: asyncpg.Connection, appointment_id: str) -> str:
    status: str = await db.fetchval(
        "SELECT status FROM appointments WHERE id = $1::uuid", appointment_id
    )
    return status


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


@pytest.mark.parametrize(("status", "action", "started"), move_cases())
async def test_each_move_is_allowed_exactly_when_the_contract_lists_it(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    status: str,
    action: str,
    started: bool,
) -> None:
    appointment_id = await booked(guest, service)
    steps = PATH_TO[status]
    # Reaching the status takes moves made before the start (a cancel) and after it (complete).
    for step in (step for step in steps if step not in NEEDS_STARTED):
        assert (await move(client, appointment_id, step)).status_code == 200
    if started:
        await make_started(db, appointment_id)
    for step in (step for step in steps if step in NEEDS_STARTED):
        assert (await move(client, appointment_id, step)).status_code == 200
    assert await status_of(db, appointment_id) == status

    response = await move(client, appointment_id, action)

    target = expected_status(status, action, started)
    if target is None:
        assert response.status_code == 409, response.text
        assert error_code(response) == refusal_code(status, action, started)
        assert await status_of(db, appointment_id) == status
    else:
        assert response.status_code == 200, response.text
        appointment = response.json()["appointment"]
        assert appointment["id"] == appointment_id
        assert appointment["status"] == target
        assert await status_of(db, appointment_id) == target


async def test_completing_before_the_start_says_why(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    appointment_id = await booked(guest, service)
    assert (await move(client, appointment_id, "confirm")).status_code == 200
    response = await move(client, appointment_id, "complete")
    assert response.status_code == 409
    assert "once it has started" in response.json()["error"]["message"]


async def test_another_providers_booking_is_not_found_and_stays_as_it_was(
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    appointment_id = await booked(guest, service)
    async with live_app.client() as rival:
        await make_provider(rival, business_name="Rival Clinic", email="rival@example.com")
        for action in MOVES:
            response = await move(rival, appointment_id, action)
            assert response.status_code == 404, response.text
            assert error_code(response) == "appointment_not_found"
    assert await status_of(db, appointment_id) == "PENDING"


async def test_unknown_or_malformed_ids_are_not_found(
    client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    unknown = await move(client, "00000000-0000-4000-8000-000000000000", "confirm")
    assert unknown.status_code == 404
    assert error_code(unknown) == "appointment_not_found"
    assert (await move(client, "not-a-uuid", "confirm")).status_code == 404
    # A free slot is not a booking either.
    slot = (await free_slots(client, service["id"], tomorrow()))[0]
    assert (await move(client, slot["id"], "confirm")).status_code == 404


async def test_customers_and_visitors_cannot_move_bookings(
    live_app: LiveApp, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    appointment_id = await booked(guest, service)
    anonymous = await move(guest, appointment_id, "cancel")
    assert anonymous.status_code == 401
    assert error_code(anonymous) == "unauthenticated"
    async with live_app.client() as customer:
        signup = await customer.post(
            "/api/auth/signup",
            json={"email": "carl@example.com", "password": "correct horse", "name": "Carl"},
        )
        assert signup.status_code == 201
        response = await move(customer, appointment_id, "cancel")
    assert response.status_code == 403
    assert error_code(response) == "not_provider"


async def test_a_reason_is_optional_but_at_most_500_characters_and_the_body_an_object(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    appointment_id = await booked(guest, service)
    too_long = await move(client, appointment_id, "reject", "x" * 501)
    assert too_long.status_code == 422
    assert "reason" in too_long.json()["error"]["fields"]
    not_an_object = await client.post(f"/api/appointments/{appointment_id}/reject", json=[1])
    assert not_an_object.status_code == 400
    unknown_field = await client.post(
        f"/api/appointments/{appointment_id}/reject", json={"why": "no"}
    )
    assert unknown_field.status_code == 422
    assert (await move(client, appointment_id, "reject", "x" * 500)).status_code == 200


async def race(requests: list[Any]) -> list[httpx.Response]:
    """Release every request at the same moment."""
    start = asyncio.Event()

    async def when_started(request: Any) -> httpx.Response:
        await start.wait()
        response: httpx.Response = await request
        return response

    tasks = [asyncio.ensure_future(when_started(request)) for request in requests]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks)


@pytest.mark.parametrize("second", ["confirm", "reject"])
async def test_two_moves_racing_on_one_booking_only_one_wins(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    second: str,
) -> None:
    async with (
        live_app.client(cookies=client.cookies) as first_tab,
        live_app.client(cookies=client.cookies) as second_tab,
    ):
        await asyncio.gather(first_tab.get("/healthz"), second_tab.get("/healthz"))
        for attempt in range(4):
            appointment_id = await booked(guest, service, attempt)
            responses = await race(
                [
                    move(first_tab, appointment_id, "confirm"),
                    move(second_tab, appointment_id, second),
                ]
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [200, 409], [response.text for response in responses]
            loser = next(response for response in responses if response.status_code == 409)
            assert error_code(loser) == "invalid_transition"
            winner = next(response for response in responses if response.status_code == 200)
            final = winner.json()["appointment"]["status"]
            assert await status_of(db, appointment_id) == final
            events = await db.fetchval(
                "SELECT count(*) FROM appointment_events WHERE appointment_id = $1::uuid",
                appointment_id,
            )
            assert events == 2  # booked, then the one move that won


@pytest.mark.parametrize("action", ["reject", "cancel"])
async def test_rejecting_or_cancelling_offers_the_time_again(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
    action: str,
) -> None:
    day = tomorrow()
    appointment_id = await booked(guest, service)
    starts_at = await db.fetchval(
        "SELECT starts_at FROM appointments WHERE id = $1::uuid", appointment_id
    )
    async with watch_slots(live_app.url, service["id"], day) as watcher:
        taken = [s for s in watcher.view.values() if not s["available"]]
        assert [s["id"] for s in taken] == [appointment_id]
        start_time = taken[0]["start_time"]

        assert (await move(client, appointment_id, action)).status_code == 200

        await watcher.wait_for_view(
            lambda view: view.get(start_time, {}).get("id") not in (None, appointment_id)
        )
        assert watcher.view[start_time]["available"] is True
    fresh = await db.fetch(
        """
        SELECT id, booked FROM appointments
         WHERE service_id = $1::uuid AND starts_at = $2 AND id <> $3::uuid
        """,
        service["id"],
        starts_at,
        appointment_id,
    )
    assert [record["booked"] for record in fresh] == [False]
    offered = {slot["start_time"]: slot for slot in await free_slots(guest, service["id"], day)}
    assert offered[start_time]["id"] == str(fresh[0]["id"])


async def test_each_move_is_recorded_with_who_made_it_and_why(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    provider_user_id = (await client.get("/api/me")).json()["user"]["id"]
    appointment_id = await booked(guest, service)
    assert (await move(client, appointment_id, "confirm")).status_code == 200
    cancel = await move(client, appointment_id, "cancel", "  The clinic is closed that day.  ")
    assert cancel.status_code == 200
    rows = await db.fetch(
        """
        SELECT from_status, to_status, actor, actor_user_id::text AS actor_user_id, reason
          FROM appointment_events
         WHERE appointment_id = $1::uuid
         ORDER BY id
        """,
        appointment_id,
    )
    assert [dict(row) for row in rows] == [
        {
            "from_status": None,
            "to_status": "PENDING",
            "actor": "customer",
            "actor_user_id": None,
            "reason": None,
        },
        {
            "from_status": "PENDING",
            "to_status": "CONFIRMED",
            "actor": "provider",
            "actor_user_id": provider_user_id,
            "reason": None,
        },
        {
            "from_status": "CONFIRMED",
            "to_status": "CANCELLED",
            "actor": "provider",
            "actor_user_id": provider_user_id,
            "reason": "The clinic is closed that day.",
        },
    ]


async def test_the_provider_socket_hears_every_move(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    first = await booked(guest, service, 0)
    second = await booked(guest, service, 1)
    third = await booked(guest, service, 2)
    fourth = await booked(guest, service, 3)
    await make_started(db, third)
    await make_started(db, fourth)
    url = ws_url(live_app.url, "/ws/provider")
    async with connect(url, additional_headers=session_cookie_header(client)) as socket:
        steps = [
            (first, "confirm", "confirmed", "CONFIRMED"),
            (first, "cancel", "cancelled", "CANCELLED"),
            (second, "reject", "rejected", "REJECTED"),
            (third, "confirm", "confirmed", "CONFIRMED"),
            (third, "complete", "completed", "COMPLETED"),
            (fourth, "confirm", "confirmed", "CONFIRMED"),
            (fourth, "no-show", "no_show", "NO_SHOW"),
        ]
        for appointment_id, action, event, status in steps:
            assert (await move(client, appointment_id, action)).status_code == 200
            async with asyncio.timeout(5):
                frame = orjson.loads(await socket.recv())
            assert frame["type"] == "appointment"
            assert (frame["event"], frame["appointment"]["id"]) == (event, appointment_id)
            assert frame["appointment"]["status"] == status
