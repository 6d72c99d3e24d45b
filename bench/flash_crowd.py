"""Benchmark: a flash crowd. WATCHERS sockets on one service's day while RATE bookings a second
land on it for SECONDS, through the socket tier, beside the raw Redis -> `websockets` baseline
carrying the same number of changes to the same number of sockets in the same run.

Run with `.venv/bin/python -m bench.flash_crowd [--watchers 10000] [--rate 100] [--seconds 30]
[--client-processes 4]`.

Method. The app runs as `appointly serve` runs it (Hypercorn, its socket tier on the next port).
Its service has one day of 64 quarter-hour slots, which every watcher watches; to keep RATE
bookings a second landing for SECONDS on those 64 slots, each booking is cancelled once booked
through the API, its time comes back as a new free row (the bench inserts it, as a cancellation
does when the service's hours still offer the time, and publishes it as the app does) and is
booked again: three changes per booking, as a busy day has. Bookings are started at RATE a
second whatever the last one took (each waits for a free time); each booking's latency runs from
its commit (`booked_at`) to the last watcher's receipt of the frame that shows it taken (a
`slot` frame or an entry of a `slots` frame); a booking cancelled before the tier read it is
never shown taken (the tier sends what the database says when it reads), so it counts as not
reached. The raw baseline publishes RATE changes a second for SECONDS to its own sockets (one
frame each, `websockets.broadcast`). Also printed: sockets the servers closed (none may be, for
clients that keep up), the tier's RSS at the start, peak and end of the crowd (flat memory),
whether a sample of watchers' views equals the database's slots afterwards, CPU seconds of each
process and load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from bench.common import (
    bench_redis_url,
    flush_redis_db,
    free_port,
    machine_note,
    ms,
    percentile,
    raise_open_file_limit,
    scratch_database,
    seed_service_with_slots,
    serving_app,
    start_process,
    stop_process,
)
from bench.fanout import (
    Watchers,
    cpu_seconds_of,
    sample_slot,
    socket_tier_of,
    watcher_processes,
)
from realtime.channels import SlotsMessage, slots_channel

WATCHERS = 10_000
RATE = 100
SECONDS = 30
CLIENT_PROCESSES = 4
SLOTS_PER_DAY = 64
CHECKED_VIEWS = 20
SETTLE_TIMEOUT = 60.0


@dataclass
class Crowd:
    """What one crowd measured."""

    latencies: list[float]
    changes: int
    closed: int
    server_cpu_seconds: float
    client_cpu_seconds: float
    rss: list[int] = field(default_factory=list)
    converged: str = ""
    errors: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)


class Arrivals:
    """Reads the watcher processes' reports: per slot id, the last receipt in each process."""

    def __init__(self, watchers: Watchers) -> None:
        self.watchers = watchers
        self.last: dict[str, list[float]] = {}
        self.status: list[tuple[int, int]] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            line = await self.watchers.lines.get()
            if line[0] == "done":
                self.last.setdefault(line[1], []).append(float(line[3]))
            elif line[0] == "status":
                self.status.append((int(line[1]), int(line[2])))
            self.changed.set()

    async def wait_for(self, ids: list[str], within: float) -> None:
        processes = len(self.watchers.processes)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while any(len(self.last.get(slot_id, ())) < processes for slot_id in ids):
                    self.changed.clear()
                    await self.changed.wait()

    def latency(self, slot_id: str, committed: float) -> float | None:
        reports = self.last.get(slot_id, [])
        if len(reports) < len(self.watchers.processes):
            return None  # some watcher never got it: counted as missing
        return max(reports) - committed

    async def closed_sockets(self) -> int:
        self.status.clear()
        for process in self.watchers.processes:
            assert process.stdin is not None
            process.stdin.write(b"status\n")
            await process.stdin.drain()
        async with asyncio.timeout(30):
            while len(self.status) < len(self.watchers.processes):
                self.changed.clear()
                await self.changed.wait()
        return sum(closed for _, closed in self.status)


async def at_rate(rate: int, seconds: int, start_one: Callable[[int], Awaitable[None]]) -> None:
    """Start `start_one(n)` rate times a second for `seconds`, whatever each takes."""
    tasks: list[asyncio.Future[None]] = []
    began = time.monotonic()
    for number in range(rate * seconds):
        delay = began + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(start_one(number)))
    await asyncio.gather(*tasks, return_exceptions=True)


async def sample_rss(process: Any, samples: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(process.rss())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await stop.wait()


# --- The app's tier -------------------------------------------------------------------------


class Booker:
    """Books, cancels and re-books the day's times, through the app's HTTP API."""

    def __init__(self, url: str, pool: asyncpg.Pool, service: Any, redis: Redis) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.redis = redis
        self.conn = pool
        self.service = service
        self.free: asyncio.Queue[str] = asyncio.Queue()
        for slot_id in service.slot_ids:
            self.free.put_nowait(str(slot_id))
        self.booked: list[tuple[str, float]] = []
        self.errors = 0
        self.refusals: Counter[str] = Counter()

    async def book_one(self, _: int) -> None:
        slot_id = await self.free.get()
        try:
            async with asyncio.timeout(30):
                slot_id = await self._book_and_cancel(slot_id)
        except Exception as error:  # counted; the time goes back into play either way
            self.errors += 1
            self.refusals[type(error).__name__ + ": " + str(error)[:80]] += 1
        await self.free.put(slot_id)

    async def _book_and_cancel(self, slot_id: str) -> str:
        """Book the slot and cancel the booking: the id of the free row at its time after."""
        body = {"slot_id": slot_id, "customer_name": "Fan", "customer_email": "fan@example.com"}
        response = await self.http.post("/api/bookings", json=body)
        start = await self.conn.fetchval(
            "SELECT starts_at FROM appointments WHERE id = $1::uuid", slot_id
        )
        if response.status_code != 201:
            self.refusals[
                response.json().get("error", {}).get("code", str(response.status_code))
            ] += 1
            return await self._free_row_at(start, slot_id)
        committed = await self.conn.fetchval(
            "SELECT extract(epoch FROM booked_at)::float8 FROM appointments WHERE id = $1::uuid",
            slot_id,
        )
        self.booked.append((slot_id, float(committed)))
        key = response.json()["manage_url"].split("key=")[1]
        cancelled = await self.http.post(f"/api/bookings/{slot_id}/cancel", params={"key": key})
        if cancelled.status_code != 200:
            self.errors += 1
        return await self._free_row_at(start, slot_id)

    async def _free_row_at(self, start: Any, fallback: str) -> str:
        for slot in await self.day_slots():
            if slot["available"] and datetime.fromisoformat(slot["start_time"]) == start:
                return str(slot["id"])
        return await self._offer_again(fallback)

    async def _offer_again(self, cancelled: str) -> str:
        """Put the cancelled time back as a new free row, as a cancellation does when the
        service's hours still offer it (the bench's seeded hours do not regenerate), and
        announce it as the app does: a slots message naming the time, which the tier re-reads."""
        row = await self.conn.fetchrow(
            """
            INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
            SELECT service_id, slot_date, starts_at, ends_at, token
              FROM appointments
             WHERE id = $1::uuid
            RETURNING id, starts_at
            """,
            cancelled,
        )
        listed = [{"start_time": row["starts_at"].isoformat(), "removed": False}]
        message = SlotsMessage(str(self.service.id), "UTC", listed, published_at=time.time())
        await self.redis.publish(slots_channel(self.service.id), message.encode())
        return str(row["id"])

    async def day_slots(self) -> list[dict[str, Any]]:
        day = self.service.first_day.isoformat()
        response = await self.http.get(
            f"/api/services/{self.service.id}/slots", params={"from": day, "to": day}
        )
        slots: list[dict[str, Any]] = response.json()["slots"]
        return slots


async def views_of(url: str, count: int) -> list[dict[str, Any]]:
    """`count` extra watchers that keep a full view (snapshot, slot and slots frames)."""
    views: list[dict[str, Any]] = []

    async def keep(view: dict[str, Any], ready: asyncio.Event) -> None:
        async with connect(url, open_timeout=60, ping_interval=None) as socket:
            async for text in socket:
                frame = orjson.loads(text)
                if frame["type"] == "snapshot":
                    view.clear()
                    view.update({slot["start_time"]: slot for slot in frame["slots"]})
                    ready.set()
                changes = [frame.get("slot")] if frame["type"] == "slot" else []
                if frame["type"] == "slot":
                    changes[0] = {**frame["slot"], "removed": bool(frame.get("removed"))}
                elif frame["type"] == "slots":
                    changes = frame["slots"]
                for slot in changes:
                    public = {key: value for key, value in slot.items() if key != "removed"}
                    if not slot.get("removed"):
                        view[slot["start_time"]] = public
                    elif view.get(slot["start_time"], {}).get("id") == slot["id"]:
                        del view[slot["start_time"]]

    tasks: list[asyncio.Future[None]] = []
    for _ in range(count):
        view: dict[str, Any] = {}
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(keep(view, ready)))
        async with asyncio.timeout(60):
            await ready.wait()
        views.append(view)
    views_of.tasks = tasks  # type: ignore[attr-defined]
    return views


async def converged(views: list[dict[str, Any]], booker: Booker) -> str:
    """Wait (bounded) until every sampled view equals the database's slots for the day."""
    truth: dict[str, Any] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while True:
                truth = {slot["start_time"]: slot for slot in await booker.day_slots()}
                if all(view == truth for view in views):
                    break
                await asyncio.sleep(0.5)
    same = sum(view == truth for view in views)
    return f"{same}/{len(views)} sampled views equal the database"


async def crowd_on_tier(plan: argparse.Namespace, redis_url: str) -> Crowd:
    async with (
        scratch_database("flash") as database_url,
        serving_app(database_url, redis_url) as server,
    ):
        conn = await asyncpg.connect(database_url)
        try:
            service = await seed_service_with_slots(conn, days=1, per_day=SLOTS_PER_DAY)
            tier, origin = await socket_tier_of(server)
            day = service.first_day.isoformat()
            url = f"{origin}/ws/services/{service.id}/slots?from={day}&to={day}"
            pool = await asyncpg.create_pool(database_url, min_size=2, max_size=10)
            booker = Booker(server.url, pool, service, Redis.from_url(redis_url))
            try:
                return await crowd(plan, url, tier, booker.book_one, booker, views=True)
            finally:
                await booker.http.aclose()
                await booker.redis.aclose()
                await pool.close()
        finally:
            await conn.close()


async def crowd(
    plan: argparse.Namespace,
    url: str,
    server: Any,
    start_one: Callable[[int], Awaitable[None]],
    booker: Booker | None,
    *,
    views: bool,
) -> Crowd:
    async with watcher_processes(url, plan.client_processes, "none") as watchers:
        arrivals = Arrivals(watchers)
        await watchers_grow(watchers, arrivals, plan.watchers)
        sampled = await views_of(url, CHECKED_VIEWS) if views else []
        server_cpu = server.cpu_seconds()
        client_cpu = sum(cpu_seconds_of(process.pid) for process in watchers.processes)
        rss: list[int] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(server, rss, stop))
        await at_rate(plan.rate, plan.seconds, start_one)
        changes = booker.booked if booker is not None else start_one.changes  # type: ignore[attr-defined]
        await arrivals.wait_for([slot_id for slot_id, _ in changes], SETTLE_TIMEOUT)
        stop.set()
        await sampler
        server_cpu = server.cpu_seconds() - server_cpu
        client_cpu = sum(cpu_seconds_of(p.pid) for p in watchers.processes) - client_cpu
        latencies = [
            latency
            for slot_id, committed in changes
            if (latency := arrivals.latency(slot_id, committed)) is not None
        ]
        result = Crowd(
            latencies,
            len(changes),
            await arrivals.closed_sockets(),
            server_cpu,
            client_cpu,
            rss,
            load_average=os.getloadavg(),
        )
        if booker is not None:
            result.converged = await converged(sampled, booker)
            result.errors = booker.errors
            result.refusals = dict(booker.refusals)
        for task in getattr(views_of, "tasks", []):
            task.cancel()
        arrivals.task.cancel()
        return result


async def watchers_grow(watchers: Watchers, arrivals: Arrivals, total: int) -> None:
    # Watchers.grow_to reads the report lines itself: stop our reader meanwhile.
    arrivals.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await arrivals.task
    await watchers.grow_to(total)
    arrivals.task = asyncio.create_task(arrivals._read())


# --- The raw baseline -----------------------------------------------------------------------


async def crowd_on_raw(plan: argparse.Namespace, redis_url: str) -> Crowd:
    port = free_port()
    channel = f"bench:raw:{secrets.token_hex(8)}"
    args = [sys.executable, "-m", "bench.fanout", "raw-server", str(port), redis_url, channel]
    server = await start_process(args, dict(os.environ), "raw-ws", port)
    redis = Redis.from_url(redis_url)
    changes: list[tuple[str, float]] = []

    async def publish_one(number: int) -> None:
        slot_id = f"raw-{number}-{secrets.token_hex(6)}"
        frame = orjson.dumps({"type": "slot", "slot": sample_slot(slot_id, number)})
        changes.append((slot_id, time.time()))
        await redis.publish(channel, frame)

    publish_one.changes = changes  # type: ignore[attr-defined]
    try:
        async with asyncio.timeout(30):
            while (await redis.pubsub_numsub(channel))[0][1] == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        return await crowd(plan, f"ws://127.0.0.1:{port}/", server, publish_one, None, views=False)
    finally:
        await redis.aclose()
        await stop_process(server)


def report(tier: Crowd, raw: Crowd, plan: argparse.Namespace) -> None:
    print(
        f"flash crowd: {plan.watchers:,} watchers in {plan.client_processes} client processes, "
        f"{plan.rate} bookings/s for {plan.seconds} s; latency = commit -> last watcher"
    )
    print(machine_note())
    for name, crowd_ in (("tier", tier), ("raw", raw)):
        load = ", ".join(f"{value:.2f}" for value in crowd_.load_average)
        print(
            f"{name}: {len(crowd_.latencies)}/{crowd_.changes} changes reached every watcher; "
            f"p50 {ms(percentile(crowd_.latencies, 0.5))} p99 "
            f"{ms(percentile(crowd_.latencies, 0.99))}; sockets closed {crowd_.closed}; "
            f"changes/s achieved {crowd_.changes / plan.seconds:.0f}; "
            f"server CPU {crowd_.server_cpu_seconds:.1f} s, clients CPU "
            f"{crowd_.client_cpu_seconds:.1f} s; load average after {load}"
        )
    tier_p99 = percentile(tier.latencies, 0.99)
    raw_p99 = percentile(raw.latencies, 0.99)
    print(
        f"p99 tier/raw {tier_p99 / raw_p99:.2f}; tier p99 target <= 250 ms: "
        f"{'met' if tier_p99 <= 0.25 else 'MISSED'}"
    )
    if tier.rss:
        mib = 1024 * 1024
        print(
            f"tier RSS during the crowd: start {tier.rss[0] / mib:,.0f} MiB, peak "
            f"{max(tier.rss) / mib:,.0f} MiB, end {tier.rss[-1] / mib:,.0f} MiB"
        )
    print(f"convergence: {tier.converged}")
    print(f"booking errors (cancel failures, timeouts): {tier.errors}; refusals: {tier.refusals}")


async def run(plan: argparse.Namespace) -> tuple[Crowd, Crowd]:
    raise_open_file_limit()
    redis_url = bench_redis_url()
    await flush_redis_db(redis_url)
    raw = await crowd_on_raw(plan, redis_url)
    tier = await crowd_on_tier(plan, redis_url)
    await flush_redis_db(redis_url)
    return tier, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=WATCHERS)
    parser.add_argument("--rate", type=int, default=RATE)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES)
    plan = parser.parse_args()
    tier, raw = asyncio.run(run(plan))
    report(tier, raw, plan)


if __name__ == "__main__":
    main()
