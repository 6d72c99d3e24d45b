"""Benchmark: generating 1,000 services' slots through the app's code vs. a plain COPY.

Run with `.venv/bin/python -m bench.slots` (or `python bench/slots.py`). It uses DATABASE_URL,
or the embedded PostgreSQL in ./.appointly-bench, creates two throwaway databases, migrates
both, and drops them at the end:

1. the app's path: `top_up_all_services`, the job that fills every service's horizon (one
   short transaction per service: lock the row, read its live slots, generate, one
   INSERT ... SELECT FROM unnest(...), record the generated horizon);
2. the same rows, generated up front by the same pure function, written by asyncpg's
   `copy_records_to_table` into the second database (the floor for bulk loading).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import orjson

from bench.common import machine_note
from jobs.slots import top_up_all_services
from server.domain.hours import parse_hours
from server.domain.slots import generate_slots, horizon_end, local_today
from server.infra.config import Config
from server.infra.db import create_pool
from server.infra.migrations import migrate

SERVICES = 1_000
HORIZON_DAYS = 30
DURATION_MINUTES = 30
MAX_PER_DAY = 16
TIMEZONE = "Europe/London"
HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
COPY_COLUMNS = ("service_id", "slot_date", "starts_at", "ends_at", "token")
# The app path runs with the worker's pool (jobs/context.py: 5 connections), as the job does.
WORKER_POOL_SIZE = 5


def admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from server.infra.embedded import embedded_database_url

    return embedded_database_url(Path(".appointly-bench"))


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def seed_services(conn: asyncpg.Connection) -> None:
    """1,000 users, providers and services, identical in every database the run creates."""
    await conn.execute(
        """
        INSERT INTO users (id, email, name, password_hash)
        SELECT md5('user' || n)::uuid, 'bench' || n || '@example.com', 'Bench ' || n, 'x'
          FROM generate_series(1, $1::int) AS n
        """,
        SERVICES,
    )
    await conn.execute(
        """
        INSERT INTO providers (id, user_id, business_name, slug, timezone)
        SELECT md5('provider' || n)::uuid, md5('user' || n)::uuid, 'Bench ' || n,
               'bench-' || n, $2
          FROM generate_series(1, $1::int) AS n
        """,
        SERVICES,
        TIMEZONE,
    )
    await conn.execute(
        """
        INSERT INTO services (id, provider_id, name, price_cents, currency, duration_minutes,
                              max_appointments_per_day, hours)
        SELECT md5('service' || n)::uuid, md5('provider' || n)::uuid, 'Service ' || n, 1000,
               'GBP', $2, $3, $4::text::jsonb
          FROM generate_series(1, $1::int) AS n
        """,
        SERVICES,
        DURATION_MINUTES,
        MAX_PER_DAY,
        orjson.dumps(HOURS).decode(),
    )


def build_records(service_ids: list[Any], now: Any) -> list[tuple[Any, ...]]:
    """The rows the app would insert, from the same pure generation function."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(TIMEZONE)
    today = local_today(now, zone)
    slots = generate_slots(
        parse_hours(HOURS),
        DURATION_MINUTES,
        MAX_PER_DAY,
        zone,
        today,
        horizon_end(today, HORIZON_DAYS),
        now,
    )
    return [
        (service_id, slot.slot_date, slot.starts_at, slot.ends_at, slot.token)
        for service_id in service_ids
        for slot in slots
    ]


async def prepare(admin: asyncpg.Connection, name: str) -> str:
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url(), name)
    await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        await seed_services(conn)
    finally:
        await conn.close()
    return url


async def time_app_path(url: str, now: Any) -> tuple[float, int]:
    pool = await create_pool(url, max_size=WORKER_POOL_SIZE)
    try:
        started = time.perf_counter()
        created = await top_up_all_services(
            pool, None, Config(slot_horizon_days=HORIZON_DAYS), now=now
        )
        return time.perf_counter() - started, created
    finally:
        await pool.close()


async def time_copy(url: str, now: Any) -> tuple[float, float, int]:
    conn = await asyncpg.connect(url)
    try:
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM services ORDER BY id")]
        started = time.perf_counter()
        records = build_records(ids, now)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        await conn.copy_records_to_table("appointments", records=records, columns=COPY_COLUMNS)
        return generated, time.perf_counter() - started, len(records)
    finally:
        await conn.close()


async def run() -> None:
    from datetime import UTC, datetime

    admin = await asyncpg.connect(admin_url())
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    app_db, copy_db = f"appointly_bench_app_{suffix}", f"appointly_bench_copy_{suffix}"
    now = datetime.now(UTC)
    try:
        app_seconds, app_rows = await time_app_path(await prepare(admin, app_db), now)
        gen_seconds, copy_seconds, copy_rows = await time_copy(await prepare(admin, copy_db), now)
    finally:
        for name in (app_db, copy_db):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(machine_note())
    print(f"{SERVICES} services x {HORIZON_DAYS} days, {MAX_PER_DAY} slots/day max")
    print(
        f"app path (top_up_all_services): {app_rows:,} rows in {app_seconds:.2f} s "
        f"= {app_rows / app_seconds:,.0f} rows/s"
    )
    print(
        f"asyncpg COPY:                   {copy_rows:,} rows in {copy_seconds:.2f} s "
        f"= {copy_rows / copy_seconds:,.0f} rows/s (pure generation {gen_seconds:.2f} s)"
    )
    print(f"ratio app/COPY: {app_seconds / copy_seconds:.2f}x")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
