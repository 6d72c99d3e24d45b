"""Benchmark: reading slots and searching services, through the app vs. plain asyncpg.

Run with `.venv/bin/python -m bench.slots_listing [--clients 50] [--requests 5000]
[--services 100000]`.

1. Slot listing: GET /api/services/{id}/slots for 30 days (16 slots a day, 480 slots) from
   CLIENTS concurrent keep-alive clients, REQUESTS in all. The raw baseline runs the same two
   queries the route runs (the service, then its slots) with plain asyncpg, CLIENTS concurrent
   tasks over a pool the size of the app's (10), in the same run.
2. Search: bench.search (its own docstring), on the same database and server, after the
   slot listing.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from bench import search
from bench.common import (
    bench_redis_url,
    compare,
    flush_redis_db,
    machine_note,
    ms,
    percentile,
    scratch_database,
    seed_service_with_slots,
    serving_app,
)
from server.models.services import SERVICE_COLUMNS
from server.models.slots import SLOT_COLUMNS

CLIENTS = 50
REQUESTS = 5_000
DAYS = 30
SLOTS_PER_DAY = 16
SERVICES = 100_000
APP_POOL_SIZE = 10
# What the slot route runs: server.models.services.select_service, then models.slots.select_slots.
SELECT_SERVICE = f"""
    SELECT {SERVICE_COLUMNS}
      FROM services AS s
      JOIN providers AS p ON p.id = s.provider_id
     WHERE s.id = $1
"""
SELECT_SLOTS = f"""
    SELECT {SLOT_COLUMNS}
      FROM appointments
     WHERE service_id = $1
       AND occupies_slot
       AND slot_date BETWEEN $2 AND $3
     ORDER BY starts_at
"""


async def timed_load(
    clients: int, requests: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """`requests` calls of `one(client)` shared by `clients` concurrent loops: (seconds,
    latencies)."""
    latencies: list[float] = []
    remaining = requests

    async def loop(client: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await one(client)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop(client) for client in range(clients)))
    return time.perf_counter() - started, latencies


# --- 1. Slot listing ----------------------------------------------------------------------------


async def list_through_app(
    base_url: str, path: str, clients: int, requests: int
) -> tuple[float, list[float]]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) for _ in range(clients)]

    async def one(client: int) -> None:
        response = await pool[client].get(path)
        if response.status_code != 200 or not response.json()["slots"]:
            raise RuntimeError(f"slot listing answered {response.status_code}")

    try:
        await asyncio.gather(*(http.get(path) for http in pool))  # connections open, warm
        return await timed_load(clients, requests, one)
    finally:
        await asyncio.gather(*(http.aclose() for http in pool))


async def list_through_asyncpg(
    database_url: str, service: Any, clients: int, requests: int
) -> tuple[float, list[float]]:
    pool = await asyncpg.create_pool(database_url, min_size=APP_POOL_SIZE, max_size=APP_POOL_SIZE)
    last_day = service.first_day + timedelta(days=DAYS - 1)

    async def one(client: int) -> None:
        async with pool.acquire() as conn:
            await conn.fetchrow(SELECT_SERVICE, service.id)
            rows = await conn.fetch(SELECT_SLOTS, service.id, service.first_day, last_day)
        if not rows:
            raise RuntimeError("no slots")

    try:
        return await timed_load(clients, requests, one)
    finally:
        await pool.close()


def describe_load(name: str, seconds: float, latencies: list[float]) -> str:
    return (
        f"{name}: {len(latencies):,} requests in {seconds:.2f} s = "
        f"{len(latencies) / seconds:,.0f} req/s; p50 {ms(percentile(latencies, 0.5))}, "
        f"p99 {ms(percentile(latencies, 0.99))}"
    )


async def measure(
    database_url: str,
    server_url: str,
    *,
    clients: int = CLIENTS,
    requests: int = REQUESTS,
    services: int = SERVICES,
    runs: int = search.RUNS,
    runs_before: int = search.RUNS_BEFORE,
    cases: Sequence[search.Case] | None = None,
) -> dict[str, Any]:
    """Both parts against a migrated database, the app served at server_url."""
    print(machine_note())
    conn = await asyncpg.connect(database_url)
    try:
        service = await seed_service_with_slots(conn, days=DAYS, per_day=SLOTS_PER_DAY)
    finally:
        await conn.close()
    last_day = service.first_day + timedelta(days=DAYS - 1)
    path = f"/api/services/{service.id}/slots?from={service.first_day}&to={last_day}"
    app_listing = await list_through_app(server_url, path, clients, requests)
    raw_listing = await list_through_asyncpg(database_url, service, clients, requests)
    report_listing(clients, app_listing, raw_listing)
    searches = await search.measure(
        database_url,
        server_url,
        services=services,
        runs=runs,
        runs_before=runs_before,
        cases=cases,
    )
    return {"listing": (app_listing, raw_listing), "searches": searches}


async def run(**options: Any) -> dict[str, Any]:
    redis_url = bench_redis_url()
    await flush_redis_db(redis_url)
    async with (
        scratch_database("listing") as database_url,
        serving_app(database_url, redis_url) as server,
    ):
        outcome = await measure(database_url, server.url, **options)
    await flush_redis_db(redis_url)
    return outcome


def report_listing(
    clients: int, app: tuple[float, list[float]], raw: tuple[float, list[float]]
) -> None:
    print(f"slot listing: {DAYS} days x {SLOTS_PER_DAY} slots, {clients} concurrent clients")
    print(describe_load("app  (GET /api/services/{id}/slots)", *app))
    print(describe_load("raw  (asyncpg, same two queries)   ", *raw))
    app_rate, raw_rate = len(app[1]) / app[0], len(raw[1]) / raw[0]
    print(compare("req/s", app_rate, raw_rate, "/s", higher_is_better=True))
    print(f"target: app >= 40% of raw: {'met' if app_rate >= 0.4 * raw_rate else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--services", type=int, default=SERVICES)
    args = parser.parse_args()
    asyncio.run(run(clients=args.clients, requests=args.requests, services=args.services))


if __name__ == "__main__":
    main()
