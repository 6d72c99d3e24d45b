"""What the benchmarks share: scratch databases, the real app served by Hypercorn in a subprocess,
a seeded service with free slots, and the statistics and comparison lines they print.

Every benchmark runs the app as `appointly serve` runs it (`python -m server serve --bind …`,
Hypercorn with hypercorn.toml) against a scratch database created and migrated for the run and
dropped afterwards, and a Redis database index of its own (BENCH_REDIS_DB, else TEST_REDIS_DB,
else 15). Redis pub/sub ignores database indexes, so the channels the benchmarks use carry
random service ids (the app's) or a random token (the raw baselines'): nothing another process
listens to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis

from server.infra.migrations import migrate

REPOSITORY = Path(__file__).resolve().parent.parent
LOG_DIR = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/appointly-bench"))  # noqa: S108
SERVER_START_SECONDS = 60
# Slots are 15 minutes long from 08:00 UTC, starting tomorrow, so none is in the past.
SLOT_MINUTES = 15
FIRST_SLOT_HOUR = 8


# --- Places -------------------------------------------------------------------------------------


def admin_url() -> str:
    """The PostgreSQL server to create scratch databases on: DATABASE_URL, else the embedded one."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from server.infra.embedded import embedded_database_url

    return embedded_database_url(REPOSITORY / ".appointly-bench")


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def bench_redis_url() -> str:
    """REDIS_URL pointed at the benchmarks' own database index."""
    base = os.environ.get("REDIS_URL")
    if not base:
        from server.infra.embedded import embedded_redis_url

        base = embedded_redis_url(REPOSITORY / ".appointly-bench")
    index = os.environ.get("BENCH_REDIS_DB") or os.environ.get("TEST_REDIS_DB") or "15"
    if base.startswith("unix://"):
        # A socket address has no path to hold the index (the embedded Redis).
        return f"{base.split('?', 1)[0]}?db={index}"
    return with_database(base, index)


@contextlib.asynccontextmanager
async def scratch_database(tag: str) -> AsyncIterator[str]:
    """A new database migrated to the latest schema, dropped when the block ends."""
    admin = await asyncpg.connect(admin_url())
    name = f"appointly_bench_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(admin_url(), name)
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one (each socket is a file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- The app, served as `appointly serve` serves it ---------------------------------------------


@dataclass
class ServerProcess:
    """A server subprocess: its base URL, and its memory and CPU as the kernel sees them."""

    process: asyncio.subprocess.Process
    url: str
    log: Path

    def rss(self) -> int:
        """Resident memory in bytes, from /proc (the benchmarks run on Linux)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(
            line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")
        )
        return int(kilobytes) * 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used, from /proc."""
        return process_cpu_seconds(self.process.pid)

    def web_processes(self) -> list[int]:
        """The processes answering requests: the server itself, or (`serve --workers N`) its
        children."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        # Only the `serve` children: the socket tier is a child too, but answers no request.
        web = [int(child) for child in children if "serve" in _argv(int(child))]
        return web or [pid]

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds used so far by each process answering requests."""
        return {pid: process_cpu_seconds(pid) for pid in self.web_processes()}


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except FileNotFoundError:
        return []


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time process `pid` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_log(name: str) -> tuple[Path, BinaryIO]:
    """A log file for a server subprocess's output (Hypercorn logs every request)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = LOG_DIR / f"{name}-{os.getpid()}-{secrets.token_hex(2)}.log"
    return path, path.open("wb")


async def start_process(
    args: Sequence[str], env: dict[str, str], log_name: str, port: int
) -> ServerProcess:
    log, handle = open_log(log_name)
    with handle:
        process = await asyncio.create_subprocess_exec(
            *args, env=env, cwd=REPOSITORY, stdout=handle, stderr=asyncio.subprocess.STDOUT
        )
    return ServerProcess(process, f"http://127.0.0.1:{port}", log)


async def stop_process(server: ServerProcess) -> None:
    if server.process.returncode is None:
        server.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(server.process.wait(), 20)
        except TimeoutError:
            server.process.kill()
            await server.process.wait()


@contextlib.asynccontextmanager
async def serving_app(
    database_url: str, redis_url: str, *, workers: int = 1
) -> AsyncIterator[ServerProcess]:
    """The real app in its own process (`workers` > 1: `serve --workers N`, that many
    processes on one address), answering /healthz, stopped with Ctrl-C at the end."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        # Production refuses to start without SMTP; no worker runs here, so nothing is sent.
        "SMTP_HOST": "127.0.0.1",
        # Every benchmark client comes from 127.0.0.1: the per-address limits would measure
        # themselves.
        "BOOKING_RATE_LIMIT": "0",
        "SIGNUP_RATE_LIMIT": "0",
        "WEBSOCKET_RATE_LIMIT": "0",
        # The socket tier beside it: a free port of its own (the next one may be taken).
        "SOCKETS_BIND": f"127.0.0.1:{free_port()}",
    }
    args = [sys.executable, "-m", "server", "serve", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", str(workers)]
    server = await start_process(args, env, "app", port)
    try:
        await wait_until_healthy(server)
        if workers > 1:
            await wait_until_all_serving(server, workers)
        yield server
    finally:
        await stop_process(server)


async def wait_until_healthy(server: ServerProcess) -> None:
    async with (
        asyncio.timeout(SERVER_START_SECONDS),
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        while True:
            if server.process.returncode is not None:
                raise RuntimeError(f"the server exited; see {server.log}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


async def wait_until_all_serving(server: ServerProcess, workers: int) -> None:
    """Until every one of `serve --workers N`'s processes has its socket bound (each logs
    one "hypercorn.error: Running on" line when it does): the first to answer /healthz may be
    alone."""
    running = re.compile(r"hypercorn\.error: Running on http")
    async with asyncio.timeout(SERVER_START_SECONDS):
        while len(running.findall(server.log.read_text(errors="replace"))) < workers:
            if server.process.returncode is not None:
                raise RuntimeError(f"the server exited; see {server.log}")
            await asyncio.sleep(0.1)


async def flush_redis_db(redis_url: str) -> None:
    """Empty the benchmarks' own Redis database index (never the others)."""
    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# --- Data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededService:
    id: UUID
    provider_id: UUID
    first_day: date
    last_day: date
    slot_ids: list[UUID]


async def seed_service_with_slots(
    conn: asyncpg.Connection, *, days: int, per_day: int, name: str = "Bench service"
) -> SeededService:
    """One provider (UTC) with one service and `days` x `per_day` free 15-minute slots from
    tomorrow, written with one INSERT ... SELECT generate_series."""
    user_id, provider_id, service_id = uuid4(), uuid4(), uuid4()
    hours = orjson.dumps({day: [["08:00", "24:00"]] for day in ("mon", "tue", "wed")}).decode()
    await conn.execute(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'Bench', 'x')",
        user_id,
        f"bench-{user_id}@example.com",
    )
    await conn.execute(
        """
        INSERT INTO providers (id, user_id, business_name, slug, timezone)
        VALUES ($1, $2, 'Bench provider', $3, 'UTC')
        """,
        provider_id,
        user_id,
        f"bench-{provider_id}",
    )
    await conn.execute(
        """
        INSERT INTO services (id, provider_id, name, price_cents, currency, duration_minutes,
                              max_appointments_per_day, hours)
        VALUES ($1, $2, $3, 0, 'GBP', $4, $5, $6::text::jsonb)
        """,
        service_id,
        provider_id,
        name,
        SLOT_MINUTES,
        per_day,
        hours,
    )
    first_day = datetime.now(UTC).date() + timedelta(days=1)
    rows = await conn.fetch(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        SELECT $1, $2::date + day,
               ($2::date + day + make_interval(hours => $5, mins => $6 * (n - 1)))
                   AT TIME ZONE 'UTC',
               ($2::date + day + make_interval(hours => $5, mins => $6 * n)) AT TIME ZONE 'UTC',
               n
          FROM generate_series(0, $3::int - 1) AS day,
               generate_series(1, $4::int) AS n
        RETURNING id
        """,
        service_id,
        first_day,
        days,
        per_day,
        FIRST_SLOT_HOUR,
        SLOT_MINUTES,
    )
    return SeededService(
        id=service_id,
        provider_id=provider_id,
        first_day=first_day,
        last_day=first_day + timedelta(days=days - 1),
        slot_ids=[row["id"] for row in rows],
    )


# --- Numbers ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction 0.5 is the median, 0.99 the 99th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def compare(label: str, app: float, raw: float, unit: str, *, higher_is_better: bool) -> str:
    """One comparison line: the project's figure, the raw baseline's, and app/raw."""
    ratio = app / raw if raw else float("nan")
    better = "higher" if higher_is_better else "lower"
    return (
        f"{label}: app {app:,.1f} {unit} | raw {raw:,.1f} {unit} | "
        f"app/raw {ratio:.2f} ({better} is better)"
    )


def machine_note() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"machine: {os.cpu_count()} cores, load average {load} (shared; numbers are noisy)"
