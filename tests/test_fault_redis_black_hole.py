"""Redis black-holed, not just killed (issue 11, faults and point 14): connections stay open but
nothing comes back. Bookings go on (their publishes time out instead of hanging), the broker
notices the missing pong, and watchers get a fresh snapshot once Redis answers again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from realtime.broker import Broker
from realtime.sockets import EXTENSION_KEY as REALTIME_KEY
from tests.conftest import BecomeProvider, LiveApp, StartApp
from tests.support.black_hole import BlackHoleProxy, black_hole_proxy
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.private_redis import PrivateRedis, private_redis
from tests.support.sockets import Frame, watch_slots

pytestmark = pytest.mark.slow


@pytest.fixture
async def proxy(tmp_path: Path) -> AsyncIterator[BlackHoleProxy]:
    server: PrivateRedis
    async with private_redis(tmp_path) as server, black_hole_proxy(server.port) as proxy:
        yield proxy


@pytest.fixture
async def app(start_app: StartApp, proxy: BlackHoleProxy) -> AsyncIterator[LiveApp]:
    served = await start_app(redis_url=proxy.url(), redis_timeout=0.5, redis_ping_interval=0.5)
    yield served
    await served.server.stop()


def broker_of(app: LiveApp) -> Broker:
    broker: Broker = app.app.extensions[REALTIME_KEY].broker
    return broker


async def wait_until(check: Any, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


def is_snapshot(frame: Frame) -> bool:
    return bool(frame["type"] == "snapshot")


async def test_a_black_holed_redis_delays_no_booking_and_watchers_resnapshot_when_it_returns(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    app: LiveApp,
    proxy: BlackHoleProxy,
) -> None:
    await become_provider()
    service: dict[str, Any] = await create_service(client)
    day = tomorrow()
    first, second, third = (await free_slots(client, service["id"], day))[:3]
    broker = broker_of(app)
    await asyncio.wait_for(broker.subscribed.wait(), 10)
    async with (
        # Gives up after 15 s: far beyond any of the app's Redis timeouts.
        app.client() as guest,
        watch_slots(app.url, service["id"], day) as watcher,
    ):
        resyncs_before = broker.resyncs
        proxy.black_hole()
        # Booking needs only the database: its publish and nudge give up, the booking stands.
        booked = await book(guest, first["id"])
        assert booked.status_code == 201, booked.text
        # The broker's ping gets no pong: it counts the connection as lost.
        await wait_until(lambda: not broker.subscribed.is_set())

        proxy.resume()
        await watcher.receive_until(is_snapshot, timeout=20)
        assert broker.resyncs > resyncs_before
        assert watcher.view[first["start_time"]]["available"] is False
        assert watcher.view[second["start_time"]]["available"] is True

        # Live again: later changes arrive as they happen.
        assert (await book(guest, second["id"])).status_code == 201
        await watcher.wait_for_view(
            lambda view: view[second["start_time"]]["available"] is False, timeout=10
        )
        assert (await book(guest, third["id"])).status_code == 201
        await watcher.wait_for_view(
            lambda view: view[third["start_time"]]["available"] is False, timeout=10
        )
