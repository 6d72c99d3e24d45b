"""Benchmark: a provider's analytics over 100,000 appointments.

Run with `.venv/bin/python -m bench.stats`. It creates a scratch database, seeds one provider
with ten services and about 100,000 bookings spread over two years in every state, starts the
real app (`appointly serve`) and measures:

1. the app: `GET /api/dashboard/stats` as the signed-in provider (HTTP, session check, the
   two stats queries in one read-only snapshot, JSON), one request at a time;
2. the raw baseline: the same two queries sent by plain asyncpg, one at a time.

It prints p50/p99 for both and the ratio of the app's p99 to the raw p99.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx

from bench.common import bench_redis_url, flush_redis_db, scratch_database, serving_app
from server.models.stats import SERIES, TOTALS

SERVICES = 10
DAYS = 730
PER_DAY = 14
ROUNDS = 200


async def seed(conn: asyncpg.Connection, provider_id: UUID) -> int:
    """Ten services with 14 half-hour bookings a day for two years, in every state."""
    await conn.execute(
        """
        INSERT INTO services (provider_id, name, price_cents, currency, duration_minutes,
                              max_appointments_per_day, hours)
        SELECT $1::uuid, 'Service ' || n, 2500, 'GBP', 30, 20, '{}'
          FROM generate_series(1, $2::int) AS n
        """,
        provider_id,
        SERVICES,
    )
    inserted: str = await conn.execute(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token, booked,
                                  status, payment_status, customer_name, customer_email,
                                  manage_key_hash, price_cents, currency, booked_at)
        SELECT s.id,
               day::date,
               day + interval '7 hours' + (n - 1) * interval '30 minutes',
               day + interval '7 hours' + n * interval '30 minutes',
               n,
               true,
               (ARRAY['COMPLETED', 'COMPLETED', 'COMPLETED', 'CONFIRMED', 'PENDING',
                      'NO_SHOW', 'REJECTED', 'CANCELLED'])
                   [1 + (n + extract(doy FROM day)::int) % 8],
               (ARRAY['paid', 'pay_at_visit'])[1 + n % 2],
               'Customer', 'customer@example.com', 'x', 2500, 'GBP', day - interval '3 days'
          FROM services AS s
         CROSS JOIN generate_series(now()::date - ($2::int - 130), now()::date + 129,
                                    interval '1 day') AS day
         CROSS JOIN generate_series(1, $3::int) AS n
         WHERE s.provider_id = $1
        """,
        provider_id,
        DAYS,
        PER_DAY,
    )
    # As autovacuum would have by now: statistics, and a visibility map for index-only scans.
    await conn.execute("VACUUM ANALYZE appointments")
    return int(inserted.split()[-1])


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(name: str, samples: list[float]) -> tuple[float, float]:
    p50, p99 = statistics.median(samples) * 1000, percentile(samples, 0.99) * 1000
    print(f"{name:<34} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ({len(samples)} requests)")
    return p50, p99


async def measure_app(url: str) -> list[float]:
    samples = []
    async with httpx.AsyncClient(base_url=url, timeout=30, cookies=session_cookies) as http:
        for _ in range(10):  # warm up
            assert (await http.get("/api/dashboard/stats")).status_code == 200
        for _ in range(ROUNDS):
            started = time.perf_counter()
            response = await http.get("/api/dashboard/stats")
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return samples


session_cookies = httpx.Cookies()


async def sign_up_provider(url: str) -> UUID:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        signup = {"email": "owner@example.com", "password": "correct horse", "name": "Owner"}
        assert (await http.post("/api/auth/signup", json=signup)).status_code == 201
        provider = {"business_name": "Busy Clinic", "timezone": "Europe/London"}
        response = await http.post("/api/providers", json=provider)
        assert response.status_code == 201, response.text
        session_cookies.update(http.cookies)
        return UUID(response.json()["provider"]["id"])


async def measure_raw(database_url: str, provider_id: UUID) -> list[float]:
    conn = await asyncpg.connect(database_url)
    samples = []
    try:
        for _ in range(10):
            await conn.fetchrow(TOTALS, provider_id, datetime.now(UTC))
        for _ in range(ROUNDS):
            started = time.perf_counter()
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                await conn.fetchrow(TOTALS, provider_id, datetime.now(UTC))
                await conn.fetch(SERIES, provider_id, datetime.now(UTC))
            samples.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return samples


async def main() -> None:
    redis_url = bench_redis_url()
    await flush_redis_db(redis_url)
    async with (
        scratch_database("stats") as database_url,
        serving_app(database_url, redis_url) as server,
    ):
        provider_id = await sign_up_provider(server.url)
        conn = await asyncpg.connect(database_url)
        try:
            count = await seed(conn, provider_id)
        finally:
            await conn.close()
        print(f"stats over {count:,} appointments of one provider ({SERVICES} services)")
        app_p50, app_p99 = report("app: GET /api/dashboard/stats", await measure_app(server.url))
        raw_p50, raw_p99 = report(
            "raw: the two queries (asyncpg)", await measure_raw(database_url, provider_id)
        )
        print(f"p99 app / raw: {app_p99 / raw_p99:.2f}x   p50 app / raw: {app_p50 / raw_p50:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
