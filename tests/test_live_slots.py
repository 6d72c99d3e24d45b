"""/ws/services/{id}/slots and /ws/provider with real WebSocket clients."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import LiveApp
from tests.support.booking import book, free_slots, tomorrow
from tests.support.sockets import close_code_of, session_cookie_header, watch_slots, ws_url


async def test_a_watcher_gets_a_snapshot_then_sees_a_booking_and_a_cancellation(
    live_app: LiveApp, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow()
    async with watch_slots(live_app.url, service["id"], day) as watcher:
        snapshot = watcher.frames[0]["slots"]
        assert snapshot == await free_slots(guest, service["id"], day)
        slot = snapshot[0]
        booking = (await book(guest, slot["id"])).json()
        frame = await watcher.receive()
        assert frame == {"type": "slot", "slot": {**slot, "available": False}}

        key = booking["manage_url"].split("key=")[1]
        cancel = await guest.post(f"/api/bookings/{slot['id']}/cancel", params={"key": key})
        assert cancel.status_code == 200
        removed = await watcher.receive()
        assert removed["removed"] is True
        assert removed["slot"]["id"] == slot["id"]
        returned = await watcher.receive()
        assert returned["slot"]["start_time"] == slot["start_time"]
        assert returned["slot"]["id"] != slot["id"]
        assert returned["slot"]["available"] is True
        assert watcher.view[slot["start_time"]]["available"] is True


async def test_changes_outside_the_watched_range_are_not_sent(
    live_app: LiveApp, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow()
    watched = await free_slots(guest, service["id"], day)
    unwatched = await free_slots(guest, service["id"], day + timedelta(days=1))
    async with watch_slots(live_app.url, service["id"], day) as watcher:
        assert (await book(guest, unwatched[0]["id"])).status_code == 201
        assert (await book(guest, watched[1]["id"])).status_code == 201
        frame = await watcher.receive()
        assert frame["slot"]["id"] == watched[1]["id"]


async def test_an_unknown_service_closes_with_4404(live_app: LiveApp) -> None:
    for service_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        url = ws_url(live_app.url, f"/ws/services/{service_id}/slots")
        assert await close_code_of(url) == 4404


async def test_a_bad_range_closes_with_4400(live_app: LiveApp, service: dict[str, Any]) -> None:
    url = ws_url(live_app.url, f"/ws/services/{service['id']}/slots?from=2026-13-01")
    assert await close_code_of(url) == 4400


async def test_a_provider_socket_gets_booking_alerts(
    live_app: LiveApp, client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    url = ws_url(live_app.url, "/ws/provider")
    async with connect(url, additional_headers=session_cookie_header(client)) as socket:
        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        assert (await book(guest, slot["id"])).status_code == 201
        frame = orjson.loads(await socket.recv())
        assert frame["type"] == "appointment"
        assert frame["event"] == "booked"
        assert frame["appointment"]["id"] == slot["id"]
        assert frame["appointment"]["customer_email"] == "grace@example.com"


async def test_a_provider_socket_from_a_foreign_origin_is_refused(
    live_app: LiveApp, client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    url = ws_url(live_app.url, "/ws/provider")
    headers = {**session_cookie_header(client), "Origin": "https://evil.example"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    own = {**session_cookie_header(client), "Origin": live_app.url}
    async with connect(url, additional_headers=own) as socket:
        assert socket.close_code is None


async def test_the_provider_socket_needs_a_signed_in_provider(
    live_app: LiveApp, sign_up: Any, client: httpx.AsyncClient
) -> None:
    url = ws_url(live_app.url, "/ws/provider")
    assert await close_code_of(url) == 4401
    await sign_up()
    assert await close_code_of(url, additional_headers=session_cookie_header(client)) == 4403


async def test_slot_sockets_decline_compression_even_when_offered(
    live_app: LiveApp, service: dict[str, Any]
) -> None:
    """A compressor per socket would cost each idle watcher four times the memory."""
    async with watch_slots(
        live_app.url, service["id"], tomorrow(), compression="deflate"
    ) as watcher:
        assert watcher.connection.request is not None
        assert "permessage-deflate" in watcher.connection.request.headers.get(
            "Sec-WebSocket-Extensions", ""
        )
        assert watcher.connection.response is not None
        assert "Sec-WebSocket-Extensions" not in watcher.connection.response.headers
