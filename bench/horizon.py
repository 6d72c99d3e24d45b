"""Benchmark: what a 365-day horizon costs, against the default 30 days and a plain COPY.

Run with `.venv/bin/python -m bench.horizon [--services N]`. For each horizon (30 and 365
days) it creates a scratch database (DATABASE_URL, or the embedded PostgreSQL), seeds N
services (09:00-17:00 every day, 30-minute slots, 16 a day, Europe/London) with that
`horizon_days`, and times the app's path, `top_up_all_services` (one short transaction per
service: lock, read the live rows, overrides and time off, generate, one INSERT ... unnest).
The raw baseline writes the same rows, generated up front by the same pure function, with
asyncpg's `copy_records_to_table`. It prints rows, seconds, rows/s and the table's size.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench import slots as baseline
from bench.common import machine_note, scratch_database
from jobs.slots import top_up_all_services
from server.infra.config import Config
from server.infra.db import create_pool

HORIZONS = (30, 365)


async def seed(url: str, services: int, horizon_days: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        baseline.SERVICES = services
        await baseline.seed_services(conn)
        await conn.execute("UPDATE services SET horizon_days = $1", horizon_days)
    finally:
        await conn.close()


async def time_app(url: str, now: Any) -> tuple[float, int, str]:
    pool = await create_pool(url, max_size=baseline.WORKER_POOL_SIZE)
    try:
        started = time.perf_counter()
        created = await top_up_all_services(pool, None, Config(slot_horizon_days=30), now=now)
        elapsed = time.perf_counter() - started
        size = await pool.fetchval("SELECT pg_size_pretty(pg_total_relation_size('appointments'))")
        return elapsed, created, size
    finally:
        await pool.close()


async def time_copy(url: str, now: Any, horizon_days: int) -> tuple[float, int]:
    conn = await asyncpg.connect(url)
    try:
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM services ORDER BY id")]
        baseline.HORIZON_DAYS = horizon_days
        records = baseline.build_records(ids, now)
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "appointments", records=records, columns=baseline.COPY_COLUMNS
        )
        return time.perf_counter() - started, len(records)
    finally:
        await conn.close()


async def run(services: int) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    print(machine_note())
    for horizon_days in HORIZONS:
        async with scratch_database(f"horizon_app_{horizon_days}") as url:
            await seed(url, services, horizon_days)
            app_seconds, app_rows, size = await time_app(url, now)
        async with scratch_database(f"horizon_copy_{horizon_days}") as url:
            await seed(url, services, horizon_days)
            copy_seconds, copy_rows = await time_copy(url, now, horizon_days)
        print(
            f"{services} services x {horizon_days} days: app {app_rows:,} rows in "
            f"{app_seconds:.2f} s ({app_rows / app_seconds:,.0f} rows/s, "
            f"{app_seconds / services * 1000:.1f} ms a service), appointments table {size}; "
            f"COPY {copy_rows:,} rows in {copy_seconds:.2f} s; "
            f"app/COPY {app_seconds / copy_seconds:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=200)
    asyncio.run(run(parser.parse_args().services))


if __name__ == "__main__":
    main()
