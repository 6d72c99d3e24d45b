"""No double booking, whatever the load: real concurrent HTTP clients racing for slots."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import GUEST, create_service, free_slots, tomorrow


@pytest.fixture
async def customers(live_app: LiveApp) -> AsyncIterator[list[httpx.AsyncClient]]:
    """100 separate clients, each with its own connection already open (like 100 phones)."""
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(live_app.client()) for _ in range(100)]
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
    await asyncio.sleep(0)  # let every task reach the barrier
    start.set()
    return await asyncio.gather(*tasks)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_a_hundred_customers_racing_for_one_slot_only_one_wins(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    customers: list[httpx.AsyncClient],
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    service = await create_service(client)
    slot = (await free_slots(client, service["id"], tomorrow()))[0]
    responses = await race(
        [
            http.post(
                "/api/bookings",
                json={**GUEST, "slot_id": slot["id"], "customer_email": f"c{n}@example.com"},
            )
            for n, http in enumerate(customers)
        ]
    )
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: 99}, statuses
    assert {error_code(r) for r in responses if r.status_code == 409} == {"slot_taken"}
    booked = await db.fetch(
        "SELECT id FROM appointments WHERE service_id = $1 AND starts_at = $2 AND booked",
        service["id"],
        (await db.fetchval("SELECT starts_at FROM appointments WHERE id = $1", slot["id"])),
    )
    assert len(booked) == 1


async def test_forty_customers_in_queue_mode_for_twenty_five_places_get_distinct_tokens(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    customers: list[httpx.AsyncClient],
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    service = await create_service(client, duration_minutes=15, max_appointments_per_day=25)
    day = tomorrow()
    assert len(await free_slots(client, service["id"], day)) == 25
    body = {**GUEST, "service_id": service["id"], "date": day.isoformat()}
    responses = await race([http.post("/api/bookings", json=body) for http in customers[:40]])
    won = [r.json()["appointment"] for r in responses if r.status_code == 201]
    lost = [r for r in responses if r.status_code != 201]
    assert sorted(a["token"] for a in won) == list(range(1, 26))
    assert len({a["start_time"] for a in won}) == 25
    assert len(lost) == 15
    assert {(r.status_code, error_code(r)) for r in lost} == {(409, "day_full")}
    assert await free_slots(client, service["id"], day) == []
    double_booked = await db.fetchval(
        """
        SELECT count(*)
          FROM (SELECT starts_at
                  FROM appointments
                 WHERE service_id = $1 AND occupies_slot AND booked
                 GROUP BY starts_at
                HAVING count(*) > 1) AS twice
        """,
        service["id"],
    )
    assert double_booked == 0
