"""Rescheduling under load: real concurrent HTTP clients moving bookings and booking slots at
once. Of everyone aimed at one slot exactly one wins, losers keep what they had, and no client
ever sees a deadlock (or any 5xx)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import GUEST, create_service, free_slots, manage_key, tomorrow

ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
async def customers(live_app: LiveApp) -> AsyncIterator[list[httpx.AsyncClient]]:
    """40 separate clients, each with its own connection already open (like 40 phones)."""
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(live_app.client()) for _ in range(40)]
        await asyncio.gather(*(http.get("/healthz") for http in clients))
        yield clients


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


async def book_slot(http: httpx.AsyncClient, slot_id: str, email: str) -> dict[str, Any]:
    response = await http.post(
        "/api/bookings", json={**GUEST, "slot_id": slot_id, "customer_email": email}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def reschedule(http: httpx.AsyncClient, booking: dict[str, Any], slot_id: str) -> Any:
    return http.post(
        f"/api/bookings/{booking['appointment']['id']}/reschedule",
        params={"key": manage_key(booking)},
        json={"slot_id": slot_id},
    )


async def double_bookings(db: asyncpg.Connection, service_id: str) -> int:
    """Times holding more than one live row (there must be none)."""
    found: int = await db.fetchval(
        """
        SELECT count(*) FROM (
            SELECT starts_at
              FROM appointments
             WHERE service_id = $1::uuid AND occupies_slot
             GROUP BY starts_at
            HAVING count(*) > 1
        ) AS doubled
        """,
        service_id,
    )
    return found


async def test_twenty_moving_into_one_slot_while_twenty_book_it_only_one_wins(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    customers: list[httpx.AsyncClient],
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    service = await create_service(client, hours=ALL_DAY, max_appointments_per_day=48)
    slots = await free_slots(client, service["id"], tomorrow())
    movers, bookers = customers[:20], customers[20:]
    bookings = [
        await book_slot(http, slots[n]["id"], f"mover{n}@example.com")
        for n, http in enumerate(movers)
    ]
    target = slots[30]

    responses = await race(
        [reschedule(http, bookings[n], target["id"]) for n, http in enumerate(movers)]
        + [
            http.post(
                "/api/bookings",
                json={**GUEST, "slot_id": target["id"], "customer_email": f"b{n}@example.com"},
            )
            for n, http in enumerate(bookers)
        ]
    )

    statuses = Counter(response.status_code for response in responses)
    assert statuses[409] == 39 and statuses[200] + statuses[201] == 1, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"slot_taken"}
    for n, response in enumerate(responses[:20]):
        if response.status_code == 200:
            continue
        kept = await movers[n].get(
            f"/api/bookings/{bookings[n]['appointment']['id']}",
            params={"key": manage_key(bookings[n])},
        )
        assert kept.json()["appointment"]["start_time"] == bookings[n]["appointment"]["start_time"]
        assert kept.json()["appointment"]["status"] == "PENDING"
    at_target = await db.fetchval(
        """
        SELECT count(*) FROM appointments
         WHERE service_id = $1::uuid AND booked AND occupies_slot AND starts_at = $2
        """,
        service["id"],
        datetime.fromisoformat(target["start_time"]),
    )
    assert at_target == 1
    assert await double_bookings(db, service["id"]) == 0


async def test_bookings_trading_times_at_once_never_deadlock(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    customers: list[httpx.AsyncClient],
    db: asyncpg.Connection,
) -> None:
    """Pairs aimed at each other's rows (locks wanted in opposite orders) and pairs moving in
    opposite directions between free times, all at once: each answer is 200 or 409."""
    await become_provider()
    service = await create_service(client, hours=ALL_DAY, max_appointments_per_day=48)
    day_one = await free_slots(client, service["id"], tomorrow())
    day_two = await free_slots(client, service["id"], tomorrow() + timedelta(days=1))
    first = [
        await book_slot(customers[n], day_one[n]["id"], f"x{n}@example.com") for n in range(10)
    ]
    second = [
        await book_slot(customers[10 + n], day_two[n]["id"], f"y{n}@example.com") for n in range(10)
    ]

    trades = []
    for n in range(10):
        x, y = first[n], second[n]
        # Into each other's rows: both are booked, so a 409 each; never a deadlock.
        trades.append(reschedule(customers[n], x, y["appointment"]["id"]))
        trades.append(reschedule(customers[10 + n], y, x["appointment"]["id"]))
        # Across the two days in opposite directions, into free times.
        trades.append(reschedule(customers[20 + n], x, day_two[20 + n]["id"]))
        trades.append(reschedule(customers[30 + n], y, day_one[20 + n]["id"]))
    responses = await race(trades)

    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 409}, [r.text for r in responses if r.status_code >= 500]
    assert statuses[200] >= 1
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"slot_taken"}
    assert await double_bookings(db, service["id"]) == 0
    live = await db.fetchval(
        "SELECT count(*) FROM appointments WHERE service_id = $1::uuid AND booked",
        service["id"],
    )
    assert live == 20
