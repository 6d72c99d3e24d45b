"""Soak: mixed traffic for MINUTES against two `appointly serve` processes and one worker.

Run with `.venv/bin/python -m bench.soak [--minutes 15] [--customers 8] [--watchers 20]`.
Not part of CI (tests/test_bench_smoke.py runs it for a few seconds).

`--haproxy` puts the deployment behind a real HAProxy (server/infra/haproxy.py): three serve
processes and two workers by default (`--web N`, `--workers N`), every request and socket
going through the balancer, which spreads them over the processes. `--pubsub-cluster` moves
real-time pub/sub to a local three-master Redis Cluster (REDIS_PUBSUB_URL: SPUBLISH and
SSUBSCRIBE per shard); the job queue stays on REDIS_URL.

Everything is real and on 127.0.0.1: a scratch database, the benchmarks' Redis database index,
two `python -m server serve` processes and one `python -m server worker` (all with
the same SECRET_KEY, so a session made on one is good on the other), and an aiosmtpd server the
worker delivers e-mail to. Customers browse, search, list slots, book and cancel, each request
going to either server; providers confirm, reject and cancel; watchers keep WebSockets on the
slots of the services, reconnecting when a server closes them.

It prints the error rate (5xx, transport errors and answers no correct client gets), p50/p99
per route, each process's resident memory sampled over the run (start, middle, end) and CPU
seconds, and an audit once the traffic stops: no slot booked twice (SQL, and wins told to two
clients), every e-mail the outbox marked sent received exactly once (by Message-ID), and every
watcher's view of its service equal to a fresh snapshot (whichever process it was on, it saw
every change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiosmtpd.controller import Controller
from websockets.asyncio.client import connect

from bench.common import (
    LOG_DIR,
    ServerProcess,
    bench_redis_url,
    flush_redis_db,
    free_port,
    machine_note,
    ms,
    percentile,
    scratch_database,
    start_process,
    stop_process,
    wait_until_healthy,
)
from server.infra.haproxy import Balancer, haproxy_binary, haproxy_config

SAMPLE_SECONDS = 5.0
# After the traffic stops, a watcher that heard nothing for this long has seen everything.
QUIET_SECONDS = 3.0
DRAIN_SECONDS = 120.0
SERVICES_PER_PROVIDER = 2
PROVIDERS = 2
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCHES = ("massage", "check", "physio", "massge", "")
# Answers a correct client can get under contention, per route; anything else is an error.
EXPECTED = {
    "POST /api/bookings": {201, 409},
    "POST /api/bookings/{id}/cancel": {200, 409},
    "POST /api/appointments/{id}/{move}": {200, 409},
}


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    wins: Counter[str] = field(default_factory=Counter)  # slot id -> 201 answers
    frames: int = 0
    reconnects: int = 0
    # Each watcher's last view of its service: (service id, {start_time: available}).
    views: dict[int, tuple[str, dict[str, bool]]] = field(default_factory=dict)

    def record(self, route: str, seconds: float, status: int | None) -> None:
        self.latencies[route].append(seconds)
        expected = EXPECTED.get(route, {200})
        if status is None or status not in expected:
            self.errors[f"{route} -> {status}"] += 1


class Inbox:
    """The local SMTP server's handler: every Message-ID received, with its count."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser().parsebytes(envelope.content, headersonly=True)
        self.message_ids[str(message["Message-ID"])] += 1
        return "250 OK"


@dataclass
class World:
    servers: list[str]
    service_ids: list[str]
    providers: list[httpx.AsyncClient]
    stats: Stats
    deadline: float
    bookings: list[tuple[str, str]] = field(default_factory=list)  # (id, manage key)
    # Set once the traffic has stopped: watchers then read until their sockets are quiet.
    traffic_done: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return random.choice(self.servers) + path


async def timed(
    world: World, http: httpx.AsyncClient, route: str, method: str, path: str, **kwargs: Any
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await http.request(method, world.url(path), **kwargs)
    except httpx.HTTPError:
        world.stats.record(route, time.perf_counter() - started, None)
        return None
    world.stats.record(route, time.perf_counter() - started, response.status_code)
    return response


# --- Traffic ------------------------------------------------------------------------------------


async def customer(world: World, number: int) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() < world.deadline:
            service_id = random.choice(world.service_ids)
            roll = random.random()
            if roll < 0.25:
                await timed(
                    world,
                    http,
                    "GET /api/services",
                    "GET",
                    "/api/services",
                    params={"q": random.choice(SEARCHES)},
                )
            elif roll < 0.35:
                await timed(
                    world, http, "GET /api/services/{id}", "GET", f"/api/services/{service_id}"
                )
            elif roll < 0.85:
                await book(world, http, service_id, number)
            elif world.bookings:
                appointment_id, key = world.bookings.pop(random.randrange(len(world.bookings)))
                await timed(
                    world,
                    http,
                    "POST /api/bookings/{id}/cancel",
                    "POST",
                    f"/api/bookings/{appointment_id}/cancel",
                    params={"key": key},
                )


async def book(world: World, http: httpx.AsyncClient, service_id: str, number: int) -> None:
    day = (datetime.now(UTC) + timedelta(days=random.randint(1, 6))).date().isoformat()
    listing = await timed(
        world,
        http,
        "GET /api/services/{id}/slots",
        "GET",
        f"/api/services/{service_id}/slots",
        params={"from": day, "to": day},
    )
    if listing is None or listing.status_code != 200:
        return
    free = [slot for slot in listing.json()["slots"] if slot.get("available", True)]
    if not free:
        return
    slot = random.choice(free)
    response = await timed(
        world,
        http,
        "POST /api/bookings",
        "POST",
        "/api/bookings",
        json={
            "slot_id": slot["id"],
            "customer_name": f"Soak {number}",
            "customer_email": f"soak{number}-{secrets.token_hex(3)}@example.com",
        },
    )
    if response is not None and response.status_code == 201:
        world.stats.wins[slot["id"]] += 1
        body = response.json()
        key = httpx.URL(body["manage_url"]).params["key"]
        world.bookings.append((body["appointment"]["id"], key))


async def provider(world: World, http: httpx.AsyncClient) -> None:
    while time.monotonic() < world.deadline:
        pending = await timed(
            world,
            http,
            "GET /api/dashboard/appointments",
            "GET",
            "/api/dashboard/appointments",
            params={"status": "PENDING"},
        )
        appointments = (
            []
            if pending is None or pending.status_code != 200
            else (pending.json()["appointments"])
        )
        if not appointments:
            await asyncio.sleep(0.5)
            continue
        appointment = random.choice(appointments)
        move = random.choices(("confirm", "reject", "cancel"), weights=(6, 2, 2))[0]
        await timed(
            world,
            http,
            "POST /api/appointments/{id}/{move}",
            "POST",
            f"/api/appointments/{appointment['id']}/{move}",
            json={},
        )


async def watcher(world: World, number: int) -> None:
    service_id = world.service_ids[number % len(world.service_ids)]
    server = world.servers[number % len(world.servers)]
    url = "ws" + server.removeprefix("http") + f"/ws/services/{service_id}/slots"
    view: dict[str, dict[str, Any]] = {}
    while not world.traffic_done.is_set():
        try:
            async with connect(url, open_timeout=10) as socket:
                while True:
                    try:
                        async with asyncio.timeout(QUIET_SECONDS):
                            frame = orjson.loads(await socket.recv())
                    except TimeoutError:
                        if world.traffic_done.is_set():
                            break  # no change for a while after the traffic stopped
                        continue
                    world.stats.frames += 1
                    apply_frame(view, frame)
                break
        except Exception as error:  # a closed or refused socket: counted, then reconnect
            world.stats.errors[f"WS {type(error).__name__}"] += 1
            world.stats.reconnects += 1
            await asyncio.sleep(0.5)
    world.stats.views[number] = (service_id, availability(view))


def apply_frame(view: dict[str, dict[str, Any]], frame: dict[str, Any]) -> None:
    """What a client does with a frame: slots keyed by start time (tests/support/sockets.py)."""
    if frame["type"] == "snapshot":
        view.clear()
        view.update({slot["start_time"]: slot for slot in frame["slots"]})
    elif frame["type"] == "slot":
        slot = frame["slot"]
        if frame.get("removed"):
            if view.get(slot["start_time"], {}).get("id") == slot["id"]:
                del view[slot["start_time"]]
        else:
            view[slot["start_time"]] = slot


def availability(view: dict[str, dict[str, Any]]) -> dict[str, bool]:
    return {start: bool(slot["available"]) for start, slot in view.items()}


async def fresh_view(server: str, service_id: str) -> dict[str, bool]:
    url = "ws" + server.removeprefix("http") + f"/ws/services/{service_id}/slots"
    async with connect(url, open_timeout=10) as socket, asyncio.timeout(10):
        frame = orjson.loads(await socket.recv())
    view: dict[str, dict[str, Any]] = {}
    apply_frame(view, frame)
    return availability(view)


async def diverged_watchers(world: World) -> int:
    """Watchers whose final view differs from a snapshot read now."""
    truth = {
        service_id: await fresh_view(world.servers[0], service_id)
        for service_id in world.service_ids
    }
    return sum(1 for service_id, view in world.stats.views.values() if view != truth[service_id])


# --- Memory -------------------------------------------------------------------------------------


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live children."""
    total = 0.0
    pending = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending.extend(int(child) for child in children)
    return total


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (`appointly worker` runs arq in a child)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            status = Path(f"/proc/{current}/status").read_text()
            lines = status.splitlines()
            kilobytes = next(line.split()[1] for line in lines if line.startswith("VmRSS:"))
            total += int(kilobytes) * 1024
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending.extend(int(child) for child in children)
    return total


async def sample_memory(
    processes: dict[str, ServerProcess], deadline: float, samples: dict[str, list[int]]
) -> None:
    while True:
        for name, process in processes.items():
            samples[name].append(tree_rss(process.process.pid))
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(min(SAMPLE_SECONDS, max(0.0, deadline - time.monotonic())))


# --- Setting up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How many processes of each kind, and whether HAProxy is in front of them."""

    web: int = 2
    workers: int = 1
    haproxy: bool = False
    # Real-time pub/sub on a local three-master Redis Cluster (REDIS_PUBSUB_URL).
    pubsub_cluster: bool = False


@dataclass
class Deployment:
    processes: dict[str, ServerProcess]
    # Where clients go: the balancer, or each web process in turn.
    entrances: list[str]


@contextlib.asynccontextmanager
async def deployment(
    database_url: str,
    redis_url: str,
    smtp_port: int,
    shape: Shape = Shape(),
    pubsub_url: str | None = None,
) -> AsyncIterator[Deployment]:
    ports = [free_port() for _ in range(shape.web)]
    balancer_port = free_port()
    public = balancer_port if shape.haproxy else ports[0]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "BASE_URL": f"http://127.0.0.1:{public}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
        "MAIL_FROM": "soak@appointly.test",
        # Every client is 127.0.0.1: the per-address limits would measure themselves.
        "BOOKING_RATE_LIMIT": "0",
        "SIGNUP_RATE_LIMIT": "0",
        "WEBSOCKET_RATE_LIMIT": "0",
    }
    if shape.haproxy:
        env["FORWARDED_ALLOW_IPS"] = "127.0.0.1"  # HAProxy's address towards the processes
    if pubsub_url is not None:
        env["REDIS_PUBSUB_URL"] = pubsub_url
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "GOOGLE_CLIENT_ID"):
        env.pop(name, None)
    python = [sys.executable, "-m", "server"]
    processes: dict[str, ServerProcess] = {}
    try:
        for index, port in enumerate(ports):
            args = [*python, "serve", "--bind", f"127.0.0.1:{port}"]
            processes[f"serve-{index + 1}"] = await start_process(args, env, "soak-serve", port)
        for index in range(shape.workers):
            name = "worker" if shape.workers == 1 else f"worker-{index + 1}"
            processes[name] = await start_process([*python, "worker"], env, "soak-worker", 0)
        for index in range(shape.web):
            await wait_until_healthy(processes[f"serve-{index + 1}"])
        entrances = [f"http://127.0.0.1:{port}" for port in ports]
        if shape.haproxy:
            processes["haproxy"] = await start_haproxy(balancer_port, ports)
            await wait_until_healthy(processes["haproxy"])
            entrances = [processes["haproxy"].url]
        yield Deployment(processes, entrances)
    finally:
        for process in processes.values():
            await stop_process(process)


async def start_haproxy(port: int, web_ports: list[int]) -> ServerProcess:
    config = write_haproxy_config(port, web_ports)
    return await start_process([haproxy_binary(), "-f", str(config), "-db"], {}, "haproxy", port)


def write_haproxy_config(port: int, web_ports: list[int]) -> Path:
    balancer = Balancer(f"127.0.0.1:{port}", [f"127.0.0.1:{web}" for web in web_ports])
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    config = LOG_DIR / f"haproxy-{os.getpid()}.cfg"
    config.write_text(haproxy_config(balancer))
    return config


async def seed(servers: list[str]) -> tuple[list[str], list[httpx.AsyncClient]]:
    """Providers (signed in, one client each) with services open every day, via the API."""
    service_ids, clients = [], []
    for number in range(PROVIDERS):
        http = httpx.AsyncClient(base_url=servers[number % len(servers)], timeout=30)
        email = f"provider{number}-{secrets.token_hex(3)}@example.com"
        signup = await http.post(
            "/api/auth/signup", json={"email": email, "password": "correct horse", "name": "P"}
        )
        signup.raise_for_status()
        (
            await http.post(
                "/api/providers", json={"business_name": f"Soak Clinic {number}", "timezone": "UTC"}
            )
        ).raise_for_status()
        for kind in range(SERVICES_PER_PROVIDER):
            response = await http.post(
                "/api/services",
                json={
                    "name": ("Massage", "Physio check")[kind],
                    "description": "Soak test service.",
                    "price_cents": 0,
                    "currency": "GBP",
                    "duration_minutes": 30,
                    "max_appointments_per_day": 24,
                    "hours": {day: [["08:00", "20:00"]] for day in WEEKDAYS},
                },
            )
            response.raise_for_status()
            service_ids.append(response.json()["service"]["id"])
        clients.append(http)
    return service_ids, clients


# --- Audit --------------------------------------------------------------------------------------


async def drain_outbox(conn: asyncpg.Connection) -> int:
    """Wait (bounded) until the worker has sent everything due; what is still pending."""
    pending = 0
    give_up = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < give_up:
        pending = await conn.fetchval(
            """
            SELECT count(*)
              FROM outbox
             WHERE channel = 'email' AND status = 'pending' AND NOT held
               AND next_attempt_at <= now()
            """
        )
        if pending == 0:
            return 0
        await asyncio.sleep(1)
    return int(pending)


async def audit(database_url: str, inbox: Inbox, stats: Stats) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        undelivered = await drain_outbox(conn)
        overlapping = await conn.fetchval(
            """
            SELECT count(*)
              FROM appointments AS a
              JOIN appointments AS b
                ON b.service_id = a.service_id
               AND b.id > a.id
               AND tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at)
             WHERE a.booked AND a.occupies_slot AND b.booked AND b.occupies_slot
            """
        )
        sent = await conn.fetch("SELECT id FROM outbox WHERE channel = 'email' AND status = 'sent'")
        failed = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'failed'"
        )
    finally:
        await conn.close()
    expected = {f"<{row['id']}@appointly.outbox>" for row in sent}
    return {
        "overlapping bookings (SQL)": int(overlapping),
        "slots won by two clients": sum(1 for wins in stats.wins.values() if wins > 1),
        "e-mails sent (outbox)": len(expected),
        "e-mails received": sum(inbox.message_ids.values()),
        "lost e-mails": len(expected - set(inbox.message_ids)),
        "duplicated e-mails": sum(1 for count in inbox.message_ids.values() if count > 1),
        "unknown e-mails": len(set(inbox.message_ids) - expected),
        "still pending after drain": undelivered,
        "failed e-mails": int(failed),
    }


# --- The run ------------------------------------------------------------------------------------


@dataclass
class Result:
    stats: Stats
    memory: dict[str, list[int]]
    audit: dict[str, int]
    seconds: float
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.stats.latencies.values())

    @property
    def error_rate(self) -> float:
        return sum(self.stats.errors.values()) / max(1, self.requests)


async def run(
    minutes: float,
    customers: int,
    watchers: int,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    shape: Shape = Shape(),
) -> Result:
    """Soak a deployment on a scratch database (or `database_url`, already migrated)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    redis_url = redis_url or bench_redis_url()
    await flush_redis_db(redis_url)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if database_url is None:
                database_url = await stack.enter_async_context(scratch_database("soak"))
            pubsub_url = None
            if shape.pubsub_cluster:
                from tests.support.redis_cluster import redis_cluster

                directory = stack.enter_context(tempfile.TemporaryDirectory())
                cluster = await stack.enter_async_context(redis_cluster(Path(directory)))
                pubsub_url = cluster.url
            deployed = await stack.enter_async_context(
                deployment(database_url, redis_url, controller.port, shape, pubsub_url)
            )
            result = await soak(deployed, database_url, inbox, minutes, customers, watchers)
            if shape.pubsub_cluster:
                result.audit["SPUBLISH calls on the cluster"] = await spublish_calls(cluster)
            return result
    finally:
        controller.stop()


async def spublish_calls(cluster: Any) -> int:
    """How many SPUBLISH commands the cluster's nodes ran (proof the changes went sharded)."""
    from redis.asyncio import Redis

    total = 0
    for node in cluster.nodes:
        client = Redis.from_url(node.url)
        try:
            stats = await client.info("commandstats")
        finally:
            await client.aclose()
        total += int(stats.get("cmdstat_spublish", {}).get("calls", 0))
    return total


async def soak(
    deployed: Deployment,
    database_url: str,
    inbox: Inbox,
    minutes: float,
    customers: int,
    watchers: int,
) -> Result:
    processes, servers = deployed.processes, deployed.entrances
    service_ids, provider_clients = await seed(servers)
    started = time.monotonic()
    world = World(servers, service_ids, provider_clients, Stats(), started + minutes * 60)
    memory: dict[str, list[int]] = defaultdict(list)
    cpu_before = {
        name: tree_cpu_seconds(process.process.pid) for name, process in processes.items()
    }
    watching = [asyncio.create_task(watcher(world, n)) for n in range(watchers)]
    try:
        await asyncio.gather(
            sample_memory(processes, world.deadline, memory),
            *(customer(world, n) for n in range(customers)),
            *(provider(world, http) for http in provider_clients),
        )
        world.traffic_done.set()
        await asyncio.gather(*watching)
    finally:
        for task in watching:
            task.cancel()
        for http in provider_clients:
            await http.aclose()
    seconds = time.monotonic() - started
    cpu = {
        name: tree_cpu_seconds(process.process.pid) - cpu_before[name]
        for name, process in processes.items()
    }
    checked = await audit(database_url, inbox, world.stats)
    checked["watchers whose view differs from a fresh snapshot"] = await diverged_watchers(world)
    checked["watchers checked"] = len(world.stats.views)
    return Result(world.stats, dict(memory), checked, seconds, cpu)


def report(result: Result) -> None:
    stats = result.stats
    print(f"# Soak: {result.seconds / 60:.1f} min, {machine_note()}")
    print(f"processes: {', '.join(result.memory)}")
    print(
        f"requests: {result.requests} ({result.requests / result.seconds:.0f}/s), "
        f"errors: {sum(stats.errors.values())} ({result.error_rate:.3%}), "
        f"WebSocket frames: {stats.frames}, reconnects: {stats.reconnects}"
    )
    for error, count in stats.errors.most_common(10):
        print(f"  error {error}: {count}")
    print("route                                  count      p50       p99")
    for route, values in sorted(stats.latencies.items()):
        print(
            f"{route:38} {len(values):6} {ms(percentile(values, 0.5)):>9} "
            f"{ms(percentile(values, 0.99)):>9}"
        )
    # The first samples include warming up (imports, pools, caches); flat means the second half.
    print("resident memory (MiB): start / middle / end (growth over the second half)")
    for name, samples in result.memory.items():
        start, middle, end = samples[0], samples[len(samples) // 2], samples[-1]
        growth = (end - middle) / max(1, middle)
        print(
            f"  {name:8} {start / 2**20:7.1f} / {middle / 2**20:7.1f} / {end / 2**20:7.1f}"
            f" ({growth:+.1%}, {len(samples)} samples)"
        )
    print("CPU seconds over the run (process and its children):")
    for name, seconds in result.cpu_seconds.items():
        print(f"  {name:8} {seconds:8.1f} ({seconds / result.seconds:.0%} of one core)")
    print("audit:")
    for name, value in result.audit.items():
        print(f"  {name}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--haproxy", action="store_true", help="behind a real HAProxy")
    parser.add_argument(
        "--pubsub-cluster",
        action="store_true",
        help="real-time pub/sub on a local 3-master Redis Cluster (REDIS_PUBSUB_URL)",
    )
    parser.add_argument("--web", type=int, help="serve processes (default 2, 3 with --haproxy)")
    parser.add_argument("--workers", type=int, help="workers (default 1, 2 with --haproxy)")
    args = parser.parse_args()
    shape = Shape(
        web=args.web or (3 if args.haproxy else 2),
        workers=args.workers or (2 if args.haproxy else 1),
        haproxy=args.haproxy,
        pubsub_cluster=args.pubsub_cluster,
    )
    report(asyncio.run(run(args.minutes, args.customers, args.watchers, shape=shape)))


if __name__ == "__main__":
    main()
