"""The socket tier (realtime.tier) keeps the sockets' contract: real `websockets` clients against
a tier sharing the test app's SECRET_KEY, BASE_URL, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime.channels import SlotsMessage, slots_channel
from realtime.tier.server import SocketTier
from server.infra.config import RateLimit
from tests.conftest import BecomeProvider, LiveApp, StartApp
from tests.support.booking import book, create_service, free_slots, slots_of, tomorrow
from tests.support.private_redis import PrivateRedis, private_redis
from tests.support.sockets import (
    Frame,
    close_code_of,
    session_cookie_header,
    watch_slots,
    ws_url,
)
from tests.support.tier import running_tier, tier_url


@pytest.fixture
async def tier(live_app: LiveApp) -> AsyncIterator[SocketTier]:
    async with running_tier(live_app.config) as running:
        yield running


def is_snapshot(frame: Frame) -> bool:
    return bool(frame["type"] == "snapshot")


async def test_a_watcher_gets_a_snapshot_then_a_booking_and_a_cancellation(
    tier: SocketTier, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow()
    async with watch_slots(tier_url(tier), service["id"], day) as watcher:
        snapshot = watcher.frames[0]["slots"]
        assert snapshot == await free_slots(guest, service["id"], day)
        slot = snapshot[0]
        booking = (await book(guest, slot["id"])).json()
        assert await watcher.receive() == {"type": "slot", "slot": {**slot, "available": False}}

        key = booking["manage_url"].split("key=")[1]
        cancel = await guest.post(f"/api/bookings/{slot['id']}/cancel", params={"key": key})
        assert cancel.status_code == 200
        await watcher.wait_for_view(
            lambda view: (
                view[slot["start_time"]]["id"] != slot["id"]
                and view[slot["start_time"]]["available"] is True
            )
        )


async def test_changes_outside_the_watched_days_are_not_sent(
    tier: SocketTier, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow()
    watched = await free_slots(guest, service["id"], day)
    unwatched = await free_slots(guest, service["id"], day + timedelta(days=1))
    async with (
        watch_slots(tier_url(tier), service["id"], day) as one_day,
        watch_slots(tier_url(tier), service["id"], day, day + timedelta(days=1)) as two_days,
    ):
        assert (await book(guest, unwatched[0]["id"])).status_code == 201
        assert (await two_days.receive())["slot"]["id"] == unwatched[0]["id"]
        assert (await book(guest, watched[1]["id"])).status_code == 201
        assert (await one_day.receive())["slot"]["id"] == watched[1]["id"]
        assert (await two_days.receive())["slot"]["id"] == watched[1]["id"]


async def test_changes_within_one_tick_go_out_as_one_slots_frame(
    live_app: LiveApp, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    # A long tick, so that the two bookings after the first surely land inside it.
    async with running_tier(live_app.config, tick=3.0) as tier:
        day = tomorrow()
        first, second, third = (await free_slots(guest, service["id"], day))[:3]
        async with watch_slots(tier_url(tier), service["id"], day) as watcher:
            assert (await book(guest, first["id"])).status_code == 201
            lone = await watcher.receive()
            assert lone["type"] == "slot"
            assert lone["slot"]["id"] == first["id"]

            assert (await book(guest, second["id"])).status_code == 201
            assert (await book(guest, third["id"])).status_code == 201
            together = await watcher.receive(timeout=10)
            assert together == {
                "type": "slots",
                "slots": [{**second, "available": False}, {**third, "available": False}],
            }
            # The view converges to what the database says.
            truth = await slots_of(guest, service["id"], day)
            assert watcher.view == {slot["start_time"]: slot for slot in truth}


async def test_an_unknown_service_closes_4404_and_a_bad_range_4400(
    tier: SocketTier, service: dict[str, Any]
) -> None:
    for service_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        assert await close_code_of(ws_url(tier_url(tier), f"/ws/services/{service_id}/slots")) == (
            4404
        )
    bad = ws_url(tier_url(tier), f"/ws/services/{service['id']}/slots?from=2026-13-01")
    assert await close_code_of(bad) == 4400


async def test_an_unknown_path_is_refused_with_404(tier: SocketTier) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(tier_url(tier), "/ws/elsewhere")):
            pass
    assert refused.value.response.status_code == 404


async def test_a_provider_socket_gets_alerts_with_the_web_apps_session_cookie(
    live_app: LiveApp,
    tier: SocketTier,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
) -> None:
    url = ws_url(tier_url(tier), "/ws/provider")
    headers = {**session_cookie_header(client), "Origin": live_app.url}
    async with connect(url, additional_headers=headers) as provider_socket:
        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        assert (await book(guest, slot["id"])).status_code == 201
        async with asyncio.timeout(5):
            frame = orjson.loads(await provider_socket.recv())
        assert (frame["type"], frame["event"]) == ("appointment", "booked")
        assert frame["appointment"]["id"] == slot["id"]

        assert (await client.post("/api/auth/logout")).status_code == 204
        async with asyncio.timeout(10):
            await provider_socket.wait_closed()
        assert provider_socket.close_code == 4401


async def test_a_provider_socket_needs_a_signed_in_provider_from_our_own_origin(
    live_app: LiveApp, tier: SocketTier, sign_up: Any, client: httpx.AsyncClient
) -> None:
    url = ws_url(tier_url(tier), "/ws/provider")
    assert await close_code_of(url) == 4401
    assert await close_code_of(url, additional_headers={"Cookie": "appointly_session=forged"}) == (
        4401
    )
    await sign_up()
    assert await close_code_of(url, additional_headers=session_cookie_header(client)) == 4403
    foreign = {**session_cookie_header(client), "Origin": "https://evil.example"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=foreign):
            pass
    assert refused.value.response.status_code == 403


async def test_a_waitlist_socket_for_an_unknown_entry_closes_4404(tier: SocketTier) -> None:
    for entry_id in ("00000000-0000-4000-8000-000000000000", "nope"):
        url = ws_url(tier_url(tier), f"/ws/waitlist/{entry_id}?key=whatever")
        assert await close_code_of(url) == 4404


async def test_too_many_connects_from_one_address_are_refused_with_429(
    live_app: LiveApp, service: dict[str, Any]
) -> None:
    config = live_app.config.with_changes(websocket_rate_limit=RateLimit(2, 60))
    async with running_tier(config) as tier:
        url = ws_url(tier_url(tier), f"/ws/services/{service['id']}/slots")
        for _ in range(2):
            async with connect(url):
                pass
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        response = refused.value.response
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        assert orjson.loads(response.body)["error"]["code"] == "rate_limited"


async def test_compression_is_declined_even_when_offered(
    tier: SocketTier, service: dict[str, Any]
) -> None:
    async with watch_slots(
        tier_url(tier), service["id"], tomorrow(), compression="deflate"
    ) as watcher:
        assert watcher.connection.response is not None
        assert "Sec-WebSocket-Extensions" not in watcher.connection.response.headers


def small_receive_buffer_socket(port: int) -> socket.socket:
    """A client socket whose kernel buffer fills after a few KiB, so a client that stops
    reading is soon a client the server cannot write to."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_a_socket_that_stops_reading_is_closed_1013_and_the_others_keep_up(
    live_app: LiveApp, redis_client: Redis, service: dict[str, Any]
) -> None:
    async with running_tier(live_app.config, slow_socket_bytes=64 * 1024) as tier:
        first = tomorrow()
        last = first + timedelta(days=20)  # a big snapshot: a resync sends many bytes
        query = f"?from={first}&to={last}"
        url = ws_url(tier_url(tier), f"/ws/services/{service['id']}/slots{query}")
        reset = SlotsMessage(service["id"], "Europe/London", [], reset=True).encode()
        async with (
            watch_slots(tier_url(tier), service["id"], first, last) as keeping_up,
            connect(url, sock=small_receive_buffer_socket(tier.port), max_queue=1) as slow,
        ):
            async with asyncio.timeout(10):
                while tier.fanout is None or tier.fanout.watchers() < 2:
                    await asyncio.sleep(0.01)
            # The slow client reads nothing from here on; each reset sends every watcher a
            # fresh snapshot, and the one keeping up reads each.
            for _ in range(300):
                await redis_client.publish(slots_channel(service["id"]), reset)
                await keeping_up.receive_until(is_snapshot, timeout=10)
                if tier.fanout is not None and tier.fanout.watchers() == 1:
                    break
            else:
                pytest.fail("the socket that stopped reading was never closed")

            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(30):
                    while True:
                        await slow.recv()
            assert slow.close_code == 1013
            await redis_client.publish(slots_channel(service["id"]), reset)
            assert (await keeping_up.receive_until(is_snapshot))["type"] == "snapshot"


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    async with private_redis(tmp_path) as server:
        yield server


async def test_watchers_get_fresh_snapshots_after_redis_comes_back(
    start_app: StartApp,
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    redis_server: PrivateRedis,
) -> None:
    app = await start_app(redis_url=redis_server.url)
    try:
        await become_provider()
        service = await create_service(client)
        day = tomorrow()
        first, second = (await free_slots(client, service["id"], day))[:2]
        async with (
            running_tier(app.config) as tier,
            app.client() as guest,
            watch_slots(tier_url(tier), service["id"], day) as one,
            watch_slots(tier_url(tier), service["id"], day) as other,
        ):
            await redis_server.kill()
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
    finally:
        await app.server.stop()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_tier_counts_its_sockets_frames_and_commit_to_send_latency(
    tier: SocketTier, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    latencies = metric("appointly_fanout_latency_seconds_count")
    frames = metric("appointly_websocket_frames_sent_total", kind="slots")
    open_before = metric("appointly_websocket_connections", kind="slots")
    async with watch_slots(tier_url(tier), service["id"], tomorrow()) as watcher:
        assert metric("appointly_websocket_connections", kind="slots") == open_before + 1
        slot = watcher.frames[0]["slots"][0]
        assert (await book(guest, slot["id"])).status_code == 201
        await watcher.receive()
        # The booking's frame and the snapshot before it.
        assert metric("appointly_websocket_frames_sent_total", kind="slots") == frames + 2
        assert metric("appointly_fanout_latency_seconds_count") == latencies + 1
