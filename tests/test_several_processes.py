"""Several `appointly serve` processes behind one load balancer all see every event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect

from tests.conftest import make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.cli_process import Running, appointly_env, start_appointly
from tests.support.sockets import session_cookie_header, watch_slots, ws_url

pytestmark = pytest.mark.slow


@pytest.fixture
async def two_servers(
    database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Running, Running]]:
    """Two real web processes on one database and one Redis, sharing the session secret."""
    env = appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="shared-by-every-web-process",
        APP_ENV="test",
    )
    servers = [
        await start_appointly("serve", env=env, output=tmp_path / f"serve-{n}.log") for n in (1, 2)
    ]
    try:
        await asyncio.gather(*(server.wait_until_serving() for server in servers))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            await server.kill()


async def test_a_watcher_on_one_process_sees_a_booking_made_through_the_other(
    two_servers: tuple[Running, Running],
) -> None:
    one, other = two_servers
    async with one.client() as provider, other.client() as guest:
        await make_provider(provider)
        service = await create_service(provider)
        day = tomorrow()
        slot = (await free_slots(guest, service["id"], day))[0]
        async with watch_slots(one.url, service["id"], day) as watcher:
            assert (await book(guest, slot["id"])).status_code == 201
            await watcher.wait_for_view(lambda view: not view[slot["start_time"]]["available"])


async def test_a_provider_connected_to_one_process_is_alerted_of_a_booking_on_the_other(
    two_servers: tuple[Running, Running],
) -> None:
    one, other = two_servers
    async with one.client() as provider, other.client() as guest:
        await make_provider(provider)
        service = await create_service(provider)
        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        url = ws_url(one.url, "/ws/provider")
        async with connect(url, additional_headers=session_cookie_header(provider)) as socket:
            assert (await book(guest, slot["id"])).status_code == 201
            async with asyncio.timeout(10):
                frame = orjson.loads(await socket.recv())
        assert frame["type"] == "appointment"
        assert frame["event"] == "booked"
        assert frame["appointment"]["id"] == slot["id"]
