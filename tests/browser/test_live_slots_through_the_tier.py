"""The service page, wired as `appointly run` wires it: its live slots come from the socket tier
on its own port (named by the page's meta tag), and a booking shows up there at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, WebSocket, expect

from tests.browser.conftest import TIMEOUT_MS, ConsoleWatch
from tests.conftest import BecomeProvider, LiveApp, StartApp
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.serving import free_port
from tests.support.tier import running_tier

pytestmark = pytest.mark.browser


@pytest.fixture
async def app_with_tier(start_app: StartApp) -> AsyncIterator[tuple[LiveApp, int]]:
    """An app whose pages point at a socket tier on its own port, and that tier's port."""
    port = free_port()
    app = await start_app(sockets_public_url=f"ws://127.0.0.1:{port}")
    try:
        async with running_tier(app.config, port):
            yield app, port
    finally:
        await app.server.stop()


async def test_the_service_page_shows_a_booking_live_through_the_socket_tier(
    browser: Browser,
    app_with_tier: tuple[LiveApp, int],
    console: ConsoleWatch,
    become_provider: BecomeProvider,
    client: httpx.AsyncClient,
) -> None:
    app, port = app_with_tier
    await become_provider()
    service: dict[str, Any] = await create_service(client, name="Sports massage")
    day = tomorrow()
    slot = (await free_slots(client, service["id"], day))[0]
    context = await browser.new_context(base_url=app.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        console.attach(page)
        sockets: list[WebSocket] = []
        page.on("websocket", lambda socket: sockets.append(socket))
        await page.goto(f"/services/{service['id']}?day={day}")
        await expect(page.locator("[data-live-status]")).to_have_text("Live")
        assert [socket.url.split("/ws/")[0] for socket in sockets] == [f"ws://127.0.0.1:{port}"]
        buttons = page.locator("[data-slots]").get_by_role("button")
        before = await buttons.count()

        async with app.client() as guest:
            assert (await book(guest, slot["id"])).status_code == 201

        await expect(buttons).to_have_count(before - 1)
    finally:
        await context.close()
    assert console.unexpected() == []
