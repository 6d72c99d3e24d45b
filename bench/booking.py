"""Benchmark: contended booking through POST /api/bookings vs. the bare claim transaction.

Run with `.venv/bin/python -m bench.booking [--clients 200] [--slots 2000] [--workers 1,2]
[--client lean|httpx]`.

One service with SLOTS free slots, and CLIENTS concurrent clients racing for them. Each client
keeps one keep-alive connection and, until every slot is taken, books a slot picked at random
among those nobody has been seen to win yet, so near the end many clients race for the same
few slots and most requests are answered 409 `slot_taken`. The app is served as `appointly
serve --workers N` serves it, for each N of --workers, each beside its own raw baseline.

The clients are `lean` by default: one asyncio stream per client writing a ready-made
HTTP/1.1 request and reading the status line and body (about a tenth of httpx's CPU per
request, which on this 2-core machine the server would otherwise lose to the load
generator); `--client httpx` uses one httpx.AsyncClient per client instead.

The raw baseline does the same race in the same run on a second service of the same database
with plain asyncpg: the app's lock query (SELECT ... FOR UPDATE) and an UPDATE of the row, in
one transaction, CLIENTS concurrent tasks over a pool the size of the app's (10 connections).

Double bookings are counted from the database: bookings whose "became PENDING" history line was
written more than once, booked rows beyond one per start time, and wins told to two clients for
one slot. The figure must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import httpx
import orjson

from bench.common import (
    ServerProcess,
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

CLIENTS = 200
SLOTS = 2_000
SLOTS_PER_DAY = 40
APP_POOL_SIZE = 10  # server.infra.db.create_pool's default, which the app uses

LOCK_SLOT = """
    SELECT a.id, a.service_id, a.starts_at, a.booked, a.occupies_slot,
           s.is_active AS service_active, s.price_cents, s.currency,
           p.stripe_account_id, p.charges_enabled
      FROM appointments AS a
      JOIN services AS s ON s.id = a.service_id
      JOIN providers AS p ON p.id = s.provider_id
     WHERE a.id = $1
       FOR UPDATE OF a
"""
BOOK_SLOT = """
    UPDATE appointments
       SET booked = true,
           status = 'PENDING',
           payment_status = 'pay_at_visit',
           customer_name = $2,
           customer_email = $3,
           manage_key_hash = 'raw',
           price_cents = $4,
           currency = $5,
           booked_at = clock_timestamp(),
           updated_at = clock_timestamp()
     WHERE id = $1
       AND NOT booked
    RETURNING id
"""


@dataclass
class Race:
    """The slots still believed free, and what every attempt came to."""

    free: list[UUID]
    latencies: list[float] = field(default_factory=list)
    wins: Counter[UUID] = field(default_factory=Counter)
    lost: int = 0
    errors: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds this (client) process used during the race
    # ... and each app server process, for the app's race (pid: seconds)
    server_cpu: dict[int, float] = field(default_factory=dict)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load average at the race's end
    _positions: dict[UUID, int] = field(init=False, repr=False)

    def pick(self) -> UUID | None:
        return random.choice(self.free) if self.free else None

    def settle(self, slot_id: UUID, won: bool) -> None:
        if won:
            self.wins[slot_id] += 1
        else:
            self.lost += 1
        # Won or lost, the slot is taken now: nobody picks it again.
        if slot_id in self._positions:
            self._remove(slot_id)

    def __post_init__(self) -> None:
        self._positions = {slot_id: index for index, slot_id in enumerate(self.free)}

    def _remove(self, slot_id: UUID) -> None:
        index = self._positions.pop(slot_id)
        last = self.free.pop()
        if last != slot_id:
            self.free[index] = last
            self._positions[last] = index


Attempt = Callable[[UUID, int], Awaitable[bool | None]]  # True won, False lost, None error


async def run_race(race: Race, clients: int, attempt_for: Callable[[int], Attempt]) -> None:
    async def client(number: int) -> None:
        attempt = attempt_for(number)
        while (slot_id := race.pick()) is not None:
            started = time.perf_counter()
            won = await attempt(slot_id, number)
            race.latencies.append(time.perf_counter() - started)
            if won is None:
                race.errors += 1
                # A 503 is the app saying it waited DB_ACQUIRE_TIMEOUT for a connection: on an
                # overloaded machine some are expected, and they are counted and printed.
                if race.errors > max(100, len(race.latencies) // 5):
                    raise RuntimeError("too many failed requests")
                continue
            race.settle(slot_id, won)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(number) for number in range(clients)))
    race.seconds = time.perf_counter() - started
    race.client_cpu = time.process_time() - cpu
    race.load = os.getloadavg()


# --- The app ------------------------------------------------------------------------------------


class LeanClient:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the status (and skips the
    body): a load generator that leaves the CPU to the server it measures."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        headers = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(status_line.split(b" ", 2)[1])

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


class HttpxClient:
    """The same with httpx (one AsyncClient per client), as the figures before 2026-11-29."""

    def __init__(self, url: str) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.http = httpx.AsyncClient(base_url=url, limits=limits, timeout=60)

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        headers = {"Content-Type": "application/json"}
        response = await self.http.request(method, path, content=body, headers=headers)
        return response.status_code

    async def aclose(self) -> None:
        await self.http.aclose()


async def race_through_app(
    server: ServerProcess, slot_ids: list[UUID], clients: int, client_kind: str = "lean"
) -> Race:
    race = Race(list(slot_ids))
    kind = LeanClient if client_kind == "lean" else HttpxClient
    pool = [kind(server.url) for _ in range(clients)]

    def attempt_for(number: int) -> Attempt:
        http = pool[number]

        async def attempt(slot_id: UUID, client_number: int) -> bool | None:
            body = orjson.dumps(
                {
                    "slot_id": str(slot_id),
                    "customer_name": f"Client {client_number}",
                    "customer_email": f"client{client_number}@example.com",
                }
            )
            status = await http.request("POST", "/api/bookings", body)
            if status == 201:
                return True
            if status == 409:
                return False
            return None

        return attempt

    try:
        # One request each first, so connections are open before the clock starts.
        await asyncio.gather(*(http.request("GET", "/healthz") for http in pool))
        before = server.cpu_by_process()
        await run_race(race, clients, attempt_for)
        after = server.cpu_by_process()
        race.server_cpu = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    finally:
        await asyncio.gather(*(http.aclose() for http in pool))
    return race


# --- The raw baseline ---------------------------------------------------------------------------


async def race_through_asyncpg(database_url: str, slot_ids: list[UUID], clients: int) -> Race:
    race = Race(list(slot_ids))
    pool = await asyncpg.create_pool(database_url, min_size=APP_POOL_SIZE, max_size=APP_POOL_SIZE)

    def attempt_for(number: int) -> Attempt:
        async def attempt(slot_id: UUID, client_number: int) -> bool | None:
            async with pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(LOCK_SLOT, slot_id)
                if row is None or row["booked"] or not row["occupies_slot"]:
                    return False
                booked = await conn.fetchval(
                    BOOK_SLOT,
                    slot_id,
                    f"Client {client_number}",
                    f"client{client_number}@example.com",
                    row["price_cents"],
                    row["currency"],
                )
                return booked is not None

        return attempt

    try:
        await run_race(race, clients, attempt_for)
    finally:
        await pool.close()
    return race


# --- Checking and reporting ---------------------------------------------------------------------


async def double_bookings(conn: asyncpg.Connection, service_id: UUID, race: Race) -> int:
    """Every way a slot could have gone to two customers, counted; 0 is the only right answer."""
    history = await conn.fetchval(
        """
        SELECT count(*)
          FROM (SELECT e.appointment_id
                  FROM appointment_events AS e
                  JOIN appointments AS a ON a.id = e.appointment_id
                 WHERE a.service_id = $1
                   AND e.from_status IS NULL
                 GROUP BY e.appointment_id
                HAVING count(*) > 1) AS twice
        """,
        service_id,
    )
    same_start = await conn.fetchval(
        """
        SELECT coalesce(sum(n - 1), 0)
          FROM (SELECT count(*) AS n
                  FROM appointments
                 WHERE service_id = $1
                   AND booked
                   AND occupies_slot
                 GROUP BY starts_at) AS per_start
        """,
        service_id,
    )
    booked = await conn.fetchval(
        "SELECT count(*) FROM appointments WHERE service_id = $1 AND booked", service_id
    )
    told_twice = sum(count - 1 for count in race.wins.values() if count > 1)
    told_but_not_booked = max(0, sum(race.wins.values()) - int(booked))
    return int(history) + int(same_start) + told_twice + told_but_not_booked


def describe(name: str, race: Race, doubles: int) -> str:
    bookings = sum(race.wins.values())
    requests = len(race.latencies)
    return (
        f"{name}: {bookings:,} bookings, {race.lost:,} lost races (409), {race.errors} errors, "
        f"{requests:,} requests in {race.seconds:.2f} s = {bookings / race.seconds:,.0f} "
        f"bookings/s ({requests / race.seconds:,.0f} requests/s); latency p50 "
        f"{ms(percentile(race.latencies, 0.5))}, p99 {ms(percentile(race.latencies, 0.99))}; "
        f"double bookings {doubles}; CPU s: client {race.client_cpu:.1f}"
        + "".join(f", app pid {pid} {cpu:.1f}" for pid, cpu in race.server_cpu.items())
        + (f" ({server_ms_per_request(race):.2f} ms a request)" if race.server_cpu else "")
        + "; load average at end "
        + ", ".join(f"{value:.2f}" for value in race.load)
    )


def server_ms_per_request(race: Race) -> float:
    """App-server CPU per request, over all its processes: steadier than the wall clock."""
    return sum(race.server_cpu.values()) * 1000 / max(1, len(race.latencies))


@dataclass(frozen=True)
class BookingResult:
    workers: int
    app: Race
    raw: Race
    app_doubles: int
    raw_doubles: int


async def measure(
    database_url: str,
    server: ServerProcess,
    clients: int,
    slots: int,
    *,
    workers: int = 1,
    client_kind: str = "lean",
) -> BookingResult:
    """Both races on two fresh services of a migrated database, the app served by `server`."""
    days = max(1, -(-slots // SLOTS_PER_DAY))
    per_day = min(slots, SLOTS_PER_DAY)
    conn = await asyncpg.connect(database_url)
    try:
        app_service = await seed_service_with_slots(conn, days=days, per_day=per_day)
        raw_service = await seed_service_with_slots(conn, days=days, per_day=per_day)
        app_race = await race_through_app(
            server, app_service.slot_ids[:slots], clients, client_kind
        )
        raw_race = await race_through_asyncpg(database_url, raw_service.slot_ids[:slots], clients)
        app_doubles = await double_bookings(conn, app_service.id, app_race)
        raw_doubles = await double_bookings(conn, raw_service.id, raw_race)
    finally:
        await conn.close()
    return BookingResult(workers, app_race, raw_race, app_doubles, raw_doubles)


async def run(
    clients: int = CLIENTS,
    slots: int = SLOTS,
    workers: Sequence[int] = (1,),
    client_kind: str = "lean",
) -> list[BookingResult]:
    """One result per number of web processes, each with its own raw baseline."""
    redis_url = bench_redis_url()
    results = []
    for count in workers:
        await flush_redis_db(redis_url)
        async with (
            scratch_database("booking") as database_url,
            serving_app(database_url, redis_url, workers=count) as server,
        ):
            results.append(
                await measure(
                    database_url, server, clients, slots, workers=count, client_kind=client_kind
                )
            )
    await flush_redis_db(redis_url)
    return results


def report(results: Sequence[BookingResult], clients: int, slots: int, client_kind: str) -> None:
    print(
        f"contended booking: {clients} clients ({client_kind}), {slots:,} slots, "
        "picks random among free ones"
    )
    print(machine_note())
    for result in results:
        processes = f"{result.workers} process{'es' if result.workers > 1 else ''}"
        print(f"--- appointly serve --workers {result.workers} ({processes})")
        print(describe("app  (POST /api/bookings, Hypercorn)", result.app, result.app_doubles))
        print(describe("raw  (asyncpg FOR UPDATE + UPDATE)  ", result.raw, result.raw_doubles))
        app_rate = sum(result.app.wins.values()) / result.app.seconds
        raw_rate = sum(result.raw.wins.values()) / result.raw.seconds
        print(compare("bookings/s", app_rate, raw_rate, "/s", higher_is_better=True))
        app_p99 = percentile(result.app.latencies, 0.99) * 1000
        raw_p99 = percentile(result.raw.latencies, 0.99) * 1000
        print(compare("p99 latency", app_p99, raw_p99, "ms", higher_is_better=False))
        print(
            f"targets: app >= 35% of raw rate: "
            f"{'met' if app_rate >= 0.35 * raw_rate else 'MISSED'}; "
            f"p99 < 250 ms: {'met' if app_p99 < 250 else 'MISSED'}; "
            f"double bookings 0: {'met' if result.app_doubles == 0 else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--slots", type=int, default=SLOTS)
    parser.add_argument("--workers", default="1,2", help="web process counts to measure, e.g. 1,2")
    parser.add_argument("--client", choices=("lean", "httpx"), default="lean")
    args = parser.parse_args()
    workers = [int(count) for count in args.workers.split(",")]
    results = asyncio.run(run(args.clients, args.slots, workers, args.client))
    report(results, args.clients, args.slots, args.client)


if __name__ == "__main__":
    main()
