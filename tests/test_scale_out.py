"""Appointly across processes behind a real load balancer: HAProxy in front of three
`appointly serve` processes and two `appointly worker`s, on one database and one Redis.

Whichever process a watcher's socket landed on, it sees every change made through whichever
process answered the booking; the provider's socket (through the balancer too) hears of each.
Behind the balancer each client keeps its own address (X-Forwarded-For from a trusted proxy).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import make_provider
from tests.support.booking import book, create_service, free_slots, manage_key, tomorrow
from tests.support.cli_process import (
    APPOINTLY,
    REPOSITORY,
    Running,
    appointly_env,
    start_appointly,
    wait_for_worker_heartbeat,
)
from tests.support.haproxy import BACKEND_HEADER, RunningBalancer, haproxy
from tests.support.serving import free_port
from tests.support.sockets import Watcher, session_cookie_header, ws_url

pytestmark = pytest.mark.slow

WEB_PROCESSES = 3
WORKERS = 2
WATCHERS = 6
BOOKINGS = 4
# Two bookings a minute per client address: the test's own clients stay under it.
BOOKING_LIMIT = 2


@dataclass
class ScaleOut:
    balancer: RunningBalancer
    web: list[Running]
    workers: list[asyncio.subprocess.Process]

    def client(self, local_address: str = "127.0.0.1") -> httpx.AsyncClient:
        """An HTTP client of the balancer, connecting from `local_address` (any 127.x works)."""
        transport = httpx.AsyncHTTPTransport(local_address=local_address)
        return httpx.AsyncClient(base_url=self.balancer.url, timeout=15, transport=transport)


@pytest.fixture(scope="module")
async def scale_out(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ScaleOut]:
    """One deployment for the module (starting it is most of the time); tables and Redis are
    emptied between tests as for every test."""
    tmp_path = tmp_path_factory.mktemp("scale-out")
    balancer_port = free_port()
    env = appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="shared-by-every-process",
        APP_ENV="test",
        BASE_URL=f"http://127.0.0.1:{balancer_port}",
        # HAProxy connects from 127.0.0.1: only it may say who the client is.
        FORWARDED_ALLOW_IPS="127.0.0.1",
        BOOKING_RATE_LIMIT=f"{BOOKING_LIMIT}/60",
        WEBSOCKET_RATE_LIMIT="0",
        # Small pools: nine processes share PostgreSQL's connections with the rest of the suite.
        DB_POOL_SIZE="4",
    )
    async with AsyncExitStack() as stack:
        web: list[Running] = []
        tiers: list[str] = []
        for n in range(1, WEB_PROCESSES + 1):
            # Each serve starts its socket tier on a port of its own; the balancer routes /ws/
            # there, and pages connect through the balancer (SOCKETS_PUBLIC_URL empty).
            tier = f"127.0.0.1:{free_port()}"
            tiers.append(tier)
            server_env = {**env, "SOCKETS_BIND": tier, "SOCKETS_PUBLIC_URL": ""}
            server = await start_appointly(
                "serve", env=server_env, output=tmp_path / f"serve-{n}.log"
            )
            stack.push_async_callback(server.kill)
            web.append(server)
        workers = []
        for n in range(1, WORKERS + 1):
            worker = await _start_worker(env, tmp_path / f"worker-{n}.log")
            stack.push_async_callback(_stop, worker)
            workers.append(worker)
        await asyncio.gather(*(server.wait_until_serving() for server in web))
        await asyncio.gather(*(_wait_until_answering(f"http://{tier}/healthz") for tier in tiers))
        await wait_for_worker_heartbeat(redis_url)
        addresses = [server.url.removeprefix("http://") for server in web]
        balancer = await stack.enter_async_context(
            haproxy(tmp_path, addresses, sockets=tiers, port=balancer_port)
        )
        await balancer.wait_until_every_web_process_answers(
            [f"web{n}" for n in range(1, WEB_PROCESSES + 1)]
        )
        yield ScaleOut(balancer, web, workers)


async def _wait_until_answering(url: str, timeout: float = 30) -> None:
    """Until `url` answers 200 (a socket tier is up a moment after its web process)."""
    async with asyncio.timeout(timeout), httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _start_worker(env: dict[str, str], output: Path) -> asyncio.subprocess.Process:
    with output.open("wb") as handle:
        return await asyncio.create_subprocess_exec(
            APPOINTLY, "worker", env=env, cwd=REPOSITORY, stdout=handle, stderr=handle
        )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


@dataclass
class LandedWatcher:
    watcher: Watcher
    backend: str


async def _open_watchers(
    stack: AsyncExitStack, balancer: RunningBalancer, service_id: str, query: str, count: int
) -> list[LandedWatcher]:
    url = ws_url(balancer.url, f"/ws/services/{service_id}/slots{query}")
    landed = []
    for _ in range(count):
        connection = await stack.enter_async_context(connect(url, open_timeout=10))
        assert connection.response is not None
        watcher = Watcher(connection)
        assert (await watcher.receive(10))["type"] == "snapshot"
        landed.append(LandedWatcher(watcher, connection.response.headers[BACKEND_HEADER]))
    return landed


async def _appointment_events(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next `count` appointment frames (a resync frame only asks the page to re-read)."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(15):
        while len(events) < count:
            frame = orjson.loads(await socket.recv())
            if frame["type"] == "appointment":
                events.append(frame)
    return events


async def test_every_watcher_sees_every_change_whichever_process_it_landed_on(
    scale_out: ScaleOut, database_url: str
) -> None:
    day = tomorrow()
    query = f"?from={day.isoformat()}&to={day.isoformat()}"
    async with AsyncExitStack() as stack:
        provider = await stack.enter_async_context(scale_out.client())
        await make_provider(provider)
        service = await create_service(provider)
        slots = (await free_slots(provider, service["id"], day))[:BOOKINGS]
        assert len(slots) == BOOKINGS

        watchers = await _open_watchers(stack, scale_out.balancer, service["id"], query, WATCHERS)
        assert {landed.backend for landed in watchers} == {
            f"ws{n}" for n in range(1, WEB_PROCESSES + 1)
        }, "the balancer spreads sockets over every process"
        alerts = await stack.enter_async_context(
            connect(
                ws_url(scale_out.balancer.url, "/ws/provider"),
                additional_headers=session_cookie_header(provider),
                open_timeout=10,
            )
        )

        # Each booking from its own client address (the rate limit is per address), each
        # answered by whichever process the balancer picked.
        bookings, answered_by = [], set()
        for n, slot in enumerate(slots):
            async with scale_out.client(f"127.0.0.{10 + n}") as guest:
                response = await book(guest, slot["id"])
            assert response.status_code == 201, response.text
            bookings.append(response.json())
            answered_by.add(response.headers[BACKEND_HEADER])
        assert len(answered_by) > 1, "bookings went through more than one process"
        booked = {slot["start_time"] for slot in slots}
        for landed in watchers:
            await landed.watcher.wait_for_view(
                lambda view: all(not view[start]["available"] for start in booked), timeout=15
            )
        events = await _appointment_events(alerts, BOOKINGS)
        assert sorted(event["appointment"]["id"] for event in events) == sorted(
            slot["id"] for slot in slots
        )
        assert {event["event"] for event in events} == {"booked"}

        # A cancellation (through yet another process) frees the slot for every watcher.
        cancelled = bookings[0]["appointment"]
        async with scale_out.client("127.0.0.30") as guest:
            response = await guest.post(
                f"/api/bookings/{cancelled['id']}/cancel", params={"key": manage_key(bookings[0])}
            )
        assert response.status_code == 200, response.text
        for landed in watchers:
            await landed.watcher.wait_for_view(
                lambda view: view.get(cancelled["start_time"], {}).get("available"), timeout=15
            )
        (event,) = await _appointment_events(alerts, 1)
        assert event["event"] == "cancelled"

    # The two workers share the queue: every confirmation e-mail the bookings queued goes out.
    await _wait_until_outbox_delivered(database_url)


async def _wait_until_outbox_delivered(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(30):
            while await conn.fetchval(
                "SELECT count(*) FROM outbox"
                " WHERE status = 'pending' AND NOT held AND next_attempt_at <= now()"
            ):
                await asyncio.sleep(0.2)
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'") > 0
    finally:
        await conn.close()


async def test_behind_the_balancer_each_client_address_has_its_own_booking_limit(
    scale_out: ScaleOut,
) -> None:
    day = tomorrow()
    async with scale_out.client() as provider:
        await make_provider(provider)
        service = await create_service(provider)
        slots = await free_slots(provider, service["id"], day)
    async with scale_out.client("127.0.0.2") as busy, scale_out.client("127.0.0.3") as other:
        for slot in slots[:BOOKING_LIMIT]:
            assert (await book(busy, slot["id"])).status_code == 201
        refused = await book(busy, slots[BOOKING_LIMIT]["id"])
        assert refused.status_code == 429, refused.text
        # Everyone reaches the web processes from HAProxy's address; without X-Forwarded-For
        # this client would share the limit the first one used up.
        assert (await book(other, slots[BOOKING_LIMIT]["id"])).status_code == 201


async def test_sockets_go_to_their_own_backends_when_the_balancer_is_given_them(
    scale_out: ScaleOut, tmp_path: Path
) -> None:
    """The socket tier's place: /ws/ routed to a separate list (here the first web process
    stands in for it), pages and the API still spread over every web process."""
    addresses = [server.url.removeprefix("http://") for server in scale_out.web]
    tier_dir = tmp_path / "tier"
    tier_dir.mkdir()
    async with haproxy(tier_dir, addresses, sockets=addresses[:1]) as balancer:
        await balancer.wait_until_every_web_process_answers(
            [f"web{n}" for n in range(1, WEB_PROCESSES + 1)]
        )
        day = tomorrow()
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.40")
        async with AsyncExitStack() as stack:
            provider = await stack.enter_async_context(
                httpx.AsyncClient(base_url=balancer.url, timeout=15, transport=transport)
            )
            await make_provider(provider)
            service = await create_service(provider)
            slot = (await free_slots(provider, service["id"], day))[0]
            query = f"?from={day.isoformat()}&to={day.isoformat()}"
            watchers = await _open_watchers(stack, balancer, service["id"], query, 3)
            assert {landed.backend for landed in watchers} == {"ws1"}
            assert (await book(provider, slot["id"])).status_code == 201
            for landed in watchers:
                await landed.watcher.wait_for_view(
                    lambda view: not view[slot["start_time"]]["available"], timeout=15
                )
