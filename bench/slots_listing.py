"""Benchmark: reading slots and searching services, through the app vs. plain asyncpg.

Run with `.venv/bin/python -m bench.slots_listing [--clients 50] [--requests 5000]
[--services 100000]`.

1. Slot listing: GET /api/services/{id}/slots for 30 days (16 slots a day, 480 slots) from
   CLIENTS concurrent keep-alive clients, REQUESTS in all. The raw baseline runs the same two
   queries the route runs (the service, then its slots) with plain asyncpg, CLIENTS concurrent
   tasks over a pool the size of the app's (10), in the same run.
2. Search: SERVICES services from SERVICES / 5 providers, made of realistic words by one
   INSERT ... SELECT generate_series per table. For each query (typos too) GET /api/services?q=
   is timed RUNS times from one client; EXPLAIN (ANALYZE) of the search SQL names the indexes
   it used. Then the indexes of sql/0007 are dropped and each query is timed again through
   plain asyncpg, which is the "before" figure.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import orjson

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
from server.infra.paths import SQL_DIR
from server.models.service_search import SEARCH_QUERY, WORD_SIMILARITY_THRESHOLD, like_pattern
from server.models.services import SERVICE_COLUMNS
from server.models.slots import SLOT_COLUMNS

CLIENTS = 50
REQUESTS = 5_000
DAYS = 30
SLOTS_PER_DAY = 16
SERVICES = 100_000
RUNS = 40
RUNS_WITHOUT_INDEXES = 3
APP_POOL_SIZE = 10
PAGE_SIZE = 20
QUERIES = (
    "massage",
    "massge",
    "physiotherapy",
    "fysiotherapy",
    "guitar lesson",
    "gitar",
    "kensington",
    "kensingtn",
    "deep tissue",
    "zzqx",
)
INDEX_MIGRATION = "0007_search_indexes.sql"
SEARCH_INDEXES = (
    "services_name_trgm_idx",
    "services_description_trgm_idx",
    "services_category_trgm_idx",
    "providers_business_name_trgm_idx",
    "services_active_category_idx",
    "services_active_newest_idx",
)

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

CATALOG = (
    """
    INSERT INTO users (id, email, name, password_hash)
    SELECT md5('catalog-user-' || n)::uuid, 'owner' || n || '@example.com', 'Owner ' || n, 'x'
      FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO providers (id, user_id, business_name, slug, timezone)
    SELECT md5('catalog-provider-' || n)::uuid, md5('catalog-user-' || n)::uuid,
           (ARRAY['Harley', 'Brooklyn', 'Riverside', 'Oakwood', 'Camden', 'Maple', 'Northside',
                  'Kensington', 'Greenwich', 'Hillcrest', 'Lakeside', 'Victoria', 'Elm Street',
                  'Soho', 'Bayview', 'Parkside', 'Westfield', 'Highgate', 'Sunset', 'Cedar',
                  'Willow', 'Chelsea', 'Harbour', 'Meadow', 'Stonebridge', 'Kingsway', 'Ashford',
                  'Bridgewater', 'Fairview', 'Southbank'])[1 + n % 30]
           || ' '
           || (ARRAY['Clinic', 'Studio', 'Salon', 'Academy', 'Centre', 'Wellness', 'Barbers',
                     'Practice', 'Institute', 'Lounge'])[1 + (n / 30) % 10],
           'catalog-' || n, 'Europe/London'
      FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO services (id, provider_id, name, description, category, location, price_cents,
                          currency, duration_minutes, max_appointments_per_day, hours, created_at)
    SELECT md5('catalog-service-' || n)::uuid,
           md5('catalog-provider-' || (1 + n % $1::int))::uuid,
           adjective || ' ' || kind,
           adjective || ' ' || lower(kind) || ' with ' || who || '. ' || extra,
           category,
           (ARRAY['London', 'Manchester', 'Leeds', 'Bristol', 'Glasgow', 'Cardiff'])[1 + n % 6],
           1000 + (n % 90) * 100, 'GBP', 30, 16, '{"mon": [["09:00", "17:00"]]}'::jsonb,
           now() - make_interval(secs => n)
      FROM generate_series(1, $1::int * 5) AS n
     CROSS JOIN LATERAL (
           SELECT (ARRAY['Deep tissue', 'Sports', 'Relaxing', 'Express', 'Advanced', 'Beginner',
                         'Premium', 'Family', 'Evening', 'Weekend', 'Intensive', 'Gentle',
                         'Classic', 'Luxury', 'Quick', 'Private'])[1 + (n * 7) % 16] AS adjective,
                  (ARRAY['massage', 'haircut', 'physiotherapy', 'yoga class', 'dental check-up',
                         'piano lesson', 'maths tutoring', 'beard trim', 'manicure', 'eye test',
                         'nutrition consultation', 'personal training', 'tax advice',
                         'dog grooming', 'photo shoot', 'guitar lesson', 'pilates', 'acupuncture',
                         'counselling session', 'car valet', 'facial', 'driving lesson',
                         'language class', 'legal consultation'])[1 + (n * 13) % 24] AS kind,
                  (ARRAY['Wellness', 'Hair', 'Health', 'Fitness', 'Dental', 'Music', 'Education',
                         'Hair', 'Beauty', 'Health', 'Health', 'Fitness', 'Finance', 'Pets',
                         'Photography', 'Music', 'Fitness', 'Wellness', 'Therapy', 'Automotive',
                         'Beauty', 'Education', 'Education', 'Legal'])[1 + (n * 13) % 24]
                      AS category,
                  (ARRAY['an experienced', 'a certified', 'a friendly', 'a senior',
                         'a qualified'])[1 + n % 5]
                  || ' '
                  || (ARRAY['therapist', 'stylist', 'coach', 'teacher', 'specialist',
                            'practitioner'])[1 + (n / 7) % 6] AS who,
                  (ARRAY['Book online in seconds.', 'Parking available nearby.',
                         'Suitable for all levels.', 'Please arrive ten minutes early.',
                         'Gift vouchers available.', 'Evening appointments available.'])
                      [1 + (n / 3) % 6] AS extra
           ) AS words
    """,
)


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


# --- 2. Search ----------------------------------------------------------------------------------


async def seed_catalog(conn: asyncpg.Connection, services: int) -> None:
    for statement in CATALOG:
        await conn.execute(statement, services // 5)
    # Flush the GIN indexes' pending lists and give the planner statistics, as autovacuum would.
    await conn.execute("VACUUM ANALYZE services, providers")


async def search_through_app(base_url: str, query: str, runs: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    total = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for _ in range(runs):
            started = time.perf_counter()
            response = await http.get("/api/services", params={"q": query})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"search answered {response.status_code}")
            total = response.json()["total"]
    return total, latencies


async def explain_search(conn: asyncpg.Connection, query: str) -> tuple[list[str], str]:
    """The indexes the search SQL used for `query`, and the plan as text."""
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
            str(WORD_SIMILARITY_THRESHOLD),
        )
        args = (query, like_pattern(query), None, PAGE_SIZE, 0)
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {SEARCH_QUERY}", *args)
        text = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {SEARCH_QUERY}", *args)
    used: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        name = node.get("Index Name")
        if name and name not in used:
            used.append(name)
        for child in node.get("Plans", ()):
            walk(child)

    walk(orjson.loads(plan)[0]["Plan"])
    return used, "\n".join(row[0] for row in text)


async def search_without_indexes(conn: asyncpg.Connection, query: str, runs: int) -> list[float]:
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
                str(WORD_SIMILARITY_THRESHOLD),
            )
            await conn.fetch(SEARCH_QUERY, query, like_pattern(query), None, PAGE_SIZE, 0)
        latencies.append(time.perf_counter() - started)
    return latencies


async def measure(
    database_url: str,
    server_url: str,
    *,
    clients: int = CLIENTS,
    requests: int = REQUESTS,
    services: int = SERVICES,
    runs: int = RUNS,
    runs_without_indexes: int = RUNS_WITHOUT_INDEXES,
    queries: tuple[str, ...] = QUERIES,
) -> dict[str, Any]:
    """Both parts against a migrated database, the app served at server_url. The search
    indexes are dropped for the "before" figures and put back at the end."""
    print(machine_note())
    conn = await asyncpg.connect(database_url)
    try:
        service = await seed_service_with_slots(conn, days=DAYS, per_day=SLOTS_PER_DAY)
        await seed_catalog(conn, services)
        last_day = service.first_day + timedelta(days=DAYS - 1)
        path = f"/api/services/{service.id}/slots?from={service.first_day}&to={last_day}"
        app_listing = await list_through_app(server_url, path, clients, requests)
        searches = {query: await search_through_app(server_url, query, runs) for query in queries}
        raw_listing = await list_through_asyncpg(database_url, service, clients, requests)
        report_listing(clients, app_listing, raw_listing)
        plans = {query: await explain_search(conn, query) for query in queries}
        for index in SEARCH_INDEXES:
            await conn.execute(f"DROP INDEX {index}")
        try:
            before = {
                query: await search_without_indexes(conn, query, runs_without_indexes)
                for query in queries
            }
        finally:
            await conn.execute((SQL_DIR / INDEX_MIGRATION).read_text(encoding="utf-8"))
        report_search(services, runs, searches, plans, before)
        typo = queries[1] if len(queries) > 1 else queries[0]
        print(f"plan for {typo!r}, with the indexes:\n" + plans[typo][1])
    finally:
        await conn.close()
    return {"listing": (app_listing, raw_listing), "searches": searches, "plans": plans}


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


def report_search(
    services: int,
    runs: int,
    searches: dict[str, tuple[int, list[float]]],
    plans: dict[str, tuple[list[str], str]],
    before: dict[str, list[float]],
) -> None:
    print(f"search over {services:,} services, {runs} runs per query through GET /api/services?q=")
    for query, (total, latencies) in searches.items():
        print(
            f"  {query!r:16} {total:>6,} found; p50 {ms(percentile(latencies, 0.5))}, "
            f"p99 {ms(percentile(latencies, 0.99))}; without indexes (SQL only, median of "
            f"{len(before[query])}) {ms(percentile(before[query], 0.5))}; "
            f"indexes used: {', '.join(plans[query][0]) or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--services", type=int, default=SERVICES)
    args = parser.parse_args()
    asyncio.run(run(clients=args.clients, requests=args.requests, services=args.services))


if __name__ == "__main__":
    main()
