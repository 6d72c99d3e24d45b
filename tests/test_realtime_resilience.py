"""Live availability survives losing Redis: watchers get fresh snapshots, bookings go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BecomeProvider, LiveApp, StartApp
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.private_redis import PrivateRedis, private_redis
from tests.support.sockets import Frame, watch_slots


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    async with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
async def app_on_private_redis(
    start_app: StartApp, redis_server: PrivateRedis
) -> AsyncIterator[LiveApp]:
    app = await start_app(redis_url=redis_server.url)
    yield app
    await app.server.stop()


def is_snapshot(frame: Frame) -> bool:
    return bool(frame["type"] == "snapshot")


def is_slot_change(frame: Frame) -> bool:
    return bool(frame["type"] == "slot")


async def test_watchers_get_fresh_snapshots_after_redis_restarts_and_bookings_go_on(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    app_on_private_redis: LiveApp,
    redis_server: PrivateRedis,
) -> None:
    await become_provider()
    service: dict[str, Any] = await create_service(client)
    day = tomorrow()
    first, second, third = (await free_slots(client, service["id"], day))[:3]
    async with (
        app_on_private_redis.client() as guest,
        watch_slots(app_on_private_redis.url, service["id"], day) as one,
        watch_slots(app_on_private_redis.url, service["id"], day) as other,
    ):
        await redis_server.kill()
        # Booking needs only the database: it succeeds while Redis is away.
        assert (await book(guest, first["id"])).status_code == 201

        await redis_server.start()
        for watcher in (one, other):
            await watcher.receive_until(is_snapshot, timeout=20)
            assert watcher.view[first["start_time"]]["available"] is False
            assert watcher.view[second["start_time"]]["available"] is True

        assert (await book(guest, second["id"])).status_code == 201
        for watcher in (one, other):
            await watcher.wait_for_view(
                lambda view: view[second["start_time"]]["available"] is False, timeout=10
            )
        assert (await book(guest, third["id"])).status_code == 201
        await one.receive_until(is_slot_change)
