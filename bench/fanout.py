"""Benchmark: one booking fanned out to 1,000, 5,000 and 10,000 WebSocket watchers, and the
memory an idle watcher costs, for the socket tier and the old ASGI path vs. a plain Redis ->
`websockets` broadcast server, in the same run.

Run with `.venv/bin/python -m bench.fanout [--sizes 1000,5000,10000] [--idle 10000]
[--bookings 20] [--client-processes 4] [--targets tier,asgi]`.

Method. The server under test is one process: the socket tier as `appointly serve` starts it
(`appointly sockets`: realtime.tier, one encoded frame written to every watcher of a group), the
app's Hypercorn path (the broker's one Redis pattern subscription, Quart WebSockets, a queue and
a send per socket), or the raw baseline (this module's `raw-server`: one Redis SUBSCRIBE,
`websockets.broadcast` to every connection, compression declined as the app and tier do). The
watchers are `websockets` clients spread over CLIENT_PROCESSES processes (this module's
`client`), so no single client event loop has to read every frame; each is told on stdin how
many sockets to hold and reports on stdout when all of its sockets have a booking's frame.

Watchers grow in stages on one server: 1,000, then 5,000, then 10,000 (20 bookings at each),
then IDLE ones for memory. Each server's CPU seconds over its stages (and the client processes'
together) and the load average after it are printed beside its figures.
A booking's latency runs from its commit (the app: `booked_at`, the
database clock's time inside the booking transaction, just before COMMIT; raw: the moment
before PUBLISH) to the moment the last watcher in any client process received the frame
(wall clock; all processes share the machine's clock). Memory per idle watcher is the server's
RSS growth from a few warm sockets to IDLE sockets, divided by their number.

Both servers and all client processes share the machine's 2 cores with PostgreSQL, Redis and
whatever else runs, so client work is inside every figure (the same for app and raw).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import WebSocketException

from bench.common import (
    REPOSITORY,
    ServerProcess,
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

SIZES = (1_000, 5_000, 10_000)
TARGETS = ("tier", "asgi")
IDLE = 10_000
BOOKINGS = 20
CLIENT_PROCESSES = 4
CONNECTS_AT_ONCE = 50  # per client process, so the server's accept backlog never overflows
ARRIVAL_TIMEOUT = 60.0
COMPRESSION_CHOICES = ("deflate", "none")


# --- Watchers: one client process ---------------------------------------------------------------


class WatcherProcess:
    """Holds sockets to one URL; on stdin "open N" grows to N sockets and answers "ready N";
    prints "done ID FIRST LAST" once every socket received the slot frame for slot ID."""

    def __init__(self, url: str, compression: str | None) -> None:
        self.url = url
        self.compression = compression
        self.sockets: list[ClientConnection] = []
        self.arrivals: dict[str, list[float]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def open(self, total: int) -> None:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        await asyncio.gather(*(self._open_one(gate) for _ in range(total - len(self.sockets))))
        say(f"ready {len(self.sockets)}")

    async def _open_one(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            for attempt in range(5):
                try:
                    socket = await connect(
                        self.url, open_timeout=30, ping_interval=None, compression=self.compression
                    )
                    await socket.recv()  # the snapshot: the socket is subscribed now
                    break
                except (OSError, TimeoutError, WebSocketException):
                    # Refused, or closed 1013 "try again later" by a swamped server.
                    await asyncio.sleep(0.2 * (attempt + 1))
            else:
                raise RuntimeError("could not open a watcher socket")
        self.sockets.append(socket)
        task = asyncio.create_task(self._read(socket))
        self.tasks.add(task)

    def closed(self) -> int:
        return sum(1 for socket in self.sockets if socket.close_code is not None)

    async def _read(self, socket: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for text in socket:
                now = time.time()
                frame = orjson.loads(text)
                # A booking's frame: the slot taken (not its later removal or a freed row).
                if frame.get("type") == "slot" and not frame.get("removed"):
                    if frame["slot"].get("available") is False:
                        self._arrived(frame["slot"]["id"], now)
                elif frame.get("type") == "slots":
                    for slot in frame["slots"]:
                        if slot.get("available") is False and not slot.get("removed"):
                            self._arrived(slot["id"], now)

    def _arrived(self, slot_id: str, now: float) -> None:
        times = self.arrivals.setdefault(slot_id, [])
        times.append(now)
        if len(times) == len(self.sockets):
            say(f"done {slot_id} {min(times)!r} {max(times)!r}")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def run_watcher_process(url: str, compression: str | None) -> None:
    raise_open_file_limit()
    watchers = WatcherProcess(url, compression)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "open":
            await watchers.open(int(line[1]))
        elif line[0] == "status":
            say(f"status {len(watchers.sockets)} {watchers.closed()}")


# --- The raw baseline server --------------------------------------------------------------------


async def run_raw_server(port: int, redis_url: str, channel: str) -> None:
    """Plain Redis SUBSCRIBE -> websockets.broadcast to every connected socket."""
    raise_open_file_limit()
    sockets: set[ServerConnection] = set()

    async def handler(socket: ServerConnection) -> None:
        sockets.add(socket)
        try:
            await socket.send('{"type":"snapshot","slots":[]}')
            await socket.wait_closed()
        finally:
            sockets.discard(socket)

    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    async with serve(
        handler, "127.0.0.1", port, ping_interval=None, backlog=1024, compression=None
    ):
        async for message in pubsub.listen():
            if message["type"] == "message":
                broadcast(sockets, message["data"].decode())


# --- The coordinator ----------------------------------------------------------------------------


@dataclass
class Watchers:
    """The client processes, and what they report."""

    processes: list[asyncio.subprocess.Process]
    lines: asyncio.Queue[list[str]] = field(default_factory=asyncio.Queue)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def start_reading(self) -> None:
        for process in self.processes:
            self.readers.append(asyncio.create_task(self._read(process)))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            await self.lines.put(line.decode().split())

    async def grow_to(self, total: int) -> None:
        share, extra = divmod(total, len(self.processes))
        for number, process in enumerate(self.processes):
            assert process.stdin is not None
            process.stdin.write(f"open {share + (number < extra)}\n".encode())
            await process.stdin.drain()
        ready = 0
        async with asyncio.timeout(600):
            while ready < len(self.processes):
                if (await self.lines.get())[0] == "ready":
                    ready += 1

    async def last_arrival(self, slot_id: str) -> float:
        """The wall-clock time the last watcher got `slot_id`'s frame."""
        reported: list[float] = []
        async with asyncio.timeout(ARRIVAL_TIMEOUT):
            while len(reported) < len(self.processes):
                line = await self.lines.get()
                if line[0] == "done" and line[1] == slot_id:
                    reported.append(float(line[3]))
        return max(reported)


@contextlib.asynccontextmanager
async def watcher_processes(url: str, count: int, compression: str) -> AsyncIterator[Watchers]:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fanout",
            "client",
            url,
            compression,
            cwd=REPOSITORY,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(count)
    ]
    watchers = Watchers(processes)
    watchers.start_reading()
    try:
        yield watchers
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        for task in watchers.readers:
            task.cancel()


@dataclass
class Stage:
    watchers: int
    latencies: list[float]


@dataclass
class Outcome:
    stages: list[Stage]
    bytes_per_idle_watcher: float
    server_cpu_seconds: float = float("nan")
    client_cpu_seconds: float = float("nan")
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)


def cpu_seconds_of(pid: int) -> float:
    """User plus system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ChildProcess:
    """A process the bench did not start itself (the tier, a child of `appointly serve`)."""

    pid: int

    def rss(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        kilobytes = next(
            line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")
        )
        return int(kilobytes) * 1024

    def cpu_seconds(self) -> float:
        return cpu_seconds_of(self.pid)


class Target:
    """What the stages need from the server under test: its socket URL, a way to make a slot
    change, and the server's RSS and CPU."""

    ws_url: str
    server: ServerProcess | ChildProcess

    async def change_one(self, number: int) -> tuple[str, float]:
        """Make slot change `number` happen: (its slot id, its commit time)."""
        raise NotImplementedError


class AppTarget(Target):
    """The app's sockets: Hypercorn's (`tier` None) or the socket tier's beside it."""

    def __init__(
        self,
        server: ServerProcess,
        conn: asyncpg.Connection,
        service: Any,
        tier: tuple[ChildProcess, str] | None = None,
    ) -> None:
        self.server = server if tier is None else tier[0]
        self.conn = conn
        self.slot_ids = [str(slot_id) for slot_id in service.slot_ids]
        day = service.first_day.isoformat()
        origin = "ws" + server.url.removeprefix("http") if tier is None else tier[1]
        self.ws_url = f"{origin}/ws/services/{service.id}/slots?from={day}&to={day}"
        self.http = httpx.AsyncClient(base_url=server.url, timeout=30)

    async def change_one(self, number: int) -> tuple[str, float]:
        slot_id = self.slot_ids[number]
        body = {"slot_id": slot_id, "customer_name": "Fan", "customer_email": "fan@example.com"}
        response = await self.http.post("/api/bookings", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"booking answered {response.status_code}: {response.text}")
        committed = await self.conn.fetchval(
            "SELECT extract(epoch FROM booked_at)::float8 FROM appointments WHERE id = $1::uuid",
            slot_id,
        )
        return slot_id, float(committed)


class RawTarget(Target):
    def __init__(self, server: ServerProcess, port: int, redis: Redis, channel: str) -> None:
        self.server = server
        self.ws_url = f"ws://127.0.0.1:{port}/"
        self.redis = redis
        self.channel = channel

    async def change_one(self, number: int) -> tuple[str, float]:
        slot_id = f"raw-{number}-{secrets.token_hex(8)}"
        frame = orjson.dumps({"type": "slot", "slot": sample_slot(slot_id, number)})
        committed = time.time()
        await self.redis.publish(self.channel, frame)
        return slot_id, committed


def sample_slot(slot_id: str, token: int) -> dict[str, Any]:
    """A frame the size of the app's."""
    return {
        "id": slot_id,
        "service_id": "00000000-0000-0000-0000-000000000000",
        "slot_date": "2026-11-26",
        "start_time": "2026-11-26T08:00:00+00:00",
        "end_time": "2026-11-26T08:15:00+00:00",
        "token": token,
        "available": False,
    }


@dataclass(frozen=True)
class Plan:
    """How many watchers at each stage, how many bookings per stage, how many idle watchers
    for the memory figure, over how many client processes, offering which compression."""

    sizes: tuple[int, ...] = SIZES
    idle: int = IDLE
    bookings: int = BOOKINGS
    processes: int = CLIENT_PROCESSES
    compression: str = "deflate"
    targets: tuple[str, ...] = TARGETS


async def run_stages(target: Target, plan: Plan) -> Outcome:
    stages: list[Stage] = []
    async with watcher_processes(target.ws_url, plan.processes, plan.compression) as watchers:
        await watchers.grow_to(plan.processes)  # one warm socket each
        await asyncio.sleep(1)
        base_rss = target.server.rss()
        server_cpu = target.server.cpu_seconds()
        client_cpu = sum(cpu_seconds_of(process.pid) for process in watchers.processes)
        number = 0
        for size in plan.sizes:
            await watchers.grow_to(size)
            await asyncio.sleep(1)
            latencies = []
            for _ in range(plan.bookings):
                slot_id, committed = await target.change_one(number)
                number += 1
                latencies.append(await watchers.last_arrival(slot_id) - committed)
            stages.append(Stage(size, latencies))
        server_cpu = target.server.cpu_seconds() - server_cpu
        client_cpu = sum(cpu_seconds_of(process.pid) for process in watchers.processes) - client_cpu
        load = os.getloadavg()
        per_watcher = float("nan")
        if plan.idle:
            await watchers.grow_to(plan.idle)
            await asyncio.sleep(3)
            per_watcher = (target.server.rss() - base_rss) / (plan.idle - plan.processes)
    return Outcome(stages, per_watcher, server_cpu, client_cpu, load)


async def socket_tier_of(server: ServerProcess) -> tuple[ChildProcess, str]:
    """The socket tier `appointly serve` started beside `server` (on SOCKETS_BIND), once it
    listens: its process and its ws:// origin."""
    async with asyncio.timeout(60):
        while True:
            found = _child_running(server.process.pid, b"sockets")
            if found is not None:
                pid, argv = found
                bind = argv[argv.index(b"--bind") + 1].decode()
                port = int(bind.rpartition(":")[2])
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    return ChildProcess(pid), f"ws://127.0.0.1:{port}"
            await asyncio.sleep(0.1)


def _child_running(parent: int, command: bytes) -> tuple[int, list[bytes]] | None:
    """The child of `parent` whose arguments include `command`, and its arguments (/proc)."""
    for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if command in argv:
            return int(pid), argv
    return None


async def measure_app(
    database_url: str, server: ServerProcess, plan: Plan, *, tier: bool = False
) -> Outcome:
    """The stages against the app served by `server` on a migrated database: its Hypercorn
    sockets, or (`tier`) its socket tier's."""
    conn = await asyncpg.connect(database_url)
    try:
        slots_needed = plan.bookings * len(plan.sizes)
        service = await seed_service_with_slots(conn, days=1, per_day=max(40, slots_needed))
        target = AppTarget(server, conn, service, await socket_tier_of(server) if tier else None)
        try:
            return await run_stages(target, plan)
        finally:
            await target.http.aclose()
    finally:
        await conn.close()


async def measure_raw(redis_url: str, plan: Plan) -> Outcome:
    port = free_port()
    channel = f"bench:raw:{secrets.token_hex(8)}"
    args = [sys.executable, "-m", "bench.fanout", "raw-server", str(port), redis_url, channel]
    server = await start_process(args, dict(os.environ), "raw-ws", port)
    redis = Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(30):
            # The raw server is another process: poll Redis until its subscription is there.
            while (await redis.pubsub_numsub(channel))[0][1] == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        return await run_stages(RawTarget(server, port, redis, channel), plan)
    finally:
        await redis.aclose()
        await stop_process(server)


async def measure(
    database_url: str, server: ServerProcess, redis_url: str, plan: Plan
) -> dict[str, Outcome]:
    """The raw baseline, then the socket tier and the ASGI path of the app already served by
    `server` (those of plan.targets), on the same Redis."""
    raise_open_file_limit()
    outcomes = {"raw": await measure_raw(redis_url, plan)}
    progress("raw", outcomes["raw"])
    for name in plan.targets:
        outcomes[name] = await measure_app(database_url, server, plan, tier=name == "tier")
        progress(name, outcomes[name])
    return outcomes


def progress(name: str, outcome: Outcome) -> None:
    """Each server's figures as soon as they are measured (the whole run takes a while)."""
    for stage in outcome.stages:
        print(
            f"  ({name}: {stage.watchers:,} watchers, p50 "
            f"{ms(percentile(stage.latencies, 0.5))} p99 {ms(percentile(stage.latencies, 0.99))}; "
            f"load average {os.getloadavg()[0]:.2f})",
            flush=True,
        )


async def run(plan: Plan) -> dict[str, Outcome]:
    raise_open_file_limit()  # the app server inherits it
    redis_url = bench_redis_url()
    await flush_redis_db(redis_url)
    async with (
        scratch_database("fanout") as database_url,
        serving_app(database_url, redis_url) as server,
    ):
        outcome = await measure(database_url, server, redis_url, plan)
    await flush_redis_db(redis_url)
    return outcome


def report(outcomes: dict[str, Outcome], plan: Plan) -> None:
    print(
        f"fan-out: watchers in {plan.processes} client processes offering "
        f"{plan.compression}; latency = commit -> last watcher"
    )
    print(machine_note())
    raw = outcomes["raw"]
    for number, raw_stage in enumerate(raw.stages):
        raw_p99 = percentile(raw_stage.latencies, 0.99)
        line = (
            f"{raw_stage.watchers:,} watchers, {len(raw_stage.latencies)} bookings: "
            f"raw p50 {ms(percentile(raw_stage.latencies, 0.5))} p99 {ms(raw_p99)}"
        )
        for name in plan.targets:
            stage = outcomes[name].stages[number]
            p99 = percentile(stage.latencies, 0.99)
            line += (
                f" | {name} p50 {ms(percentile(stage.latencies, 0.5))} p99 {ms(p99)} "
                f"{name}/raw {p99 / raw_p99:.2f}"
            )
            if name == "tier":
                line += f" (target <= 1.3: {'met' if p99 <= 1.3 * raw_p99 else 'MISSED'})"
        print(line)
    for name, outcome in outcomes.items():
        load = ", ".join(f"{value:.2f}" for value in outcome.load_average)
        print(
            f"{name}: server CPU {outcome.server_cpu_seconds:.1f} s, client processes CPU "
            f"{outcome.client_cpu_seconds:.1f} s over its stages; load average after: {load}"
        )
    if plan.idle:
        for name in plan.targets:
            outcome = outcomes[name]
            print(
                f"memory per idle watcher at {plan.idle:,} in one process: {name} "
                f"{outcome.bytes_per_idle_watcher / 1024:,.1f} KiB | raw "
                f"{raw.bytes_per_idle_watcher / 1024:,.1f} KiB | {name}/raw "
                f"{outcome.bytes_per_idle_watcher / raw.bytes_per_idle_watcher:.2f}"
            )


def _compression(choice: str) -> str | None:
    return None if choice == "none" else choice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help="(internal) hold watcher sockets")
    client.add_argument("url")
    client.add_argument("compression", choices=COMPRESSION_CHOICES)
    raw = commands.add_parser("raw-server", help="(internal) the raw broadcast server")
    raw.add_argument("port", type=int)
    raw.add_argument("redis_url")
    raw.add_argument("channel")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--idle", type=int, default=IDLE)
    parser.add_argument("--bookings", type=int, default=BOOKINGS)
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES)
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="which of the app's socket paths to measure beside raw: tier, asgi",
    )
    parser.add_argument(
        "--compression",
        choices=COMPRESSION_CHOICES,
        default="deflate",
        help="what the watchers offer: permessage-deflate (as browsers do) or nothing",
    )
    args = parser.parse_args()
    if args.command == "client":
        asyncio.run(run_watcher_process(args.url, _compression(args.compression)))
    elif args.command == "raw-server":
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the coordinator stops it
            asyncio.run(run_raw_server(args.port, args.redis_url, args.channel))
    else:
        plan = Plan(
            sizes=tuple(int(size) for size in args.sizes.split(",")),
            idle=args.idle,
            bookings=args.bookings,
            processes=args.client_processes,
            compression=args.compression,
            targets=tuple(name for name in args.targets.split(",") if name),
        )
        report(asyncio.run(run(plan)), plan)


if __name__ == "__main__":
    main()
