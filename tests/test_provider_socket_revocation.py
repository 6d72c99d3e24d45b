"""/ws/provider closes with 4401 once the session it was opened with is revoked: logout, a
password change elsewhere, a reset, or (without any notice) the session row simply going."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from server.models import account_tokens
from tests.conftest import LiveApp, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.sockets import session_cookie_header, ws_url

PASSWORD = "correct horse"
CLOSE_UNAUTHENTICATED = 4401
# Far below the contract's 30 seconds, far above a notice's round trip.
CLOSE_WITHIN = 10


@asynccontextmanager
async def provider_socket(
    base_url: str, http: httpx.AsyncClient
) -> AsyncIterator[ClientConnection]:
    url = ws_url(base_url, "/ws/provider")
    async with connect(url, open_timeout=10, additional_headers=session_cookie_header(http)) as ws:
        yield ws


async def closed_with(socket: ClientConnection) -> int | None:
    """Wait (bounded) for the server to close the socket; its close code."""
    async with asyncio.timeout(CLOSE_WITHIN):
        await socket.wait_closed()
    return socket.close_code


async def log_in(http: httpx.AsyncClient, email: str = "ada@example.com") -> None:
    response = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text


@pytest.fixture
async def second_browser(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        yield http


@pytest.fixture
async def provider(client: httpx.AsyncClient) -> dict[str, Any]:
    """`client` signed up as a provider with one service."""
    await make_provider(client)
    return await create_service(client)


async def test_logging_out_closes_the_dashboard_socket_with_4401(
    live_app: LiveApp, client: httpx.AsyncClient, provider: dict[str, Any]
) -> None:
    async with provider_socket(live_app.url, client) as socket:
        assert (await client.post("/api/auth/logout")).status_code == 204

        assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


async def test_a_password_change_closes_the_other_sessions_socket_but_not_its_own(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    provider: dict[str, Any],
) -> None:
    await log_in(second_browser)
    async with (
        provider_socket(live_app.url, client) as own,
        provider_socket(live_app.url, second_browser) as other,
    ):
        change = await client.post(
            "/api/me/password",
            json={"current_password": PASSWORD, "new_password": "battery staple"},
        )
        assert change.status_code == 204

        assert await closed_with(other) == CLOSE_UNAUTHENTICATED
        # The session that changed the password keeps its socket: it still gets alerts.
        async with live_app.client() as guest:
            slot = (await free_slots(guest, provider["id"], tomorrow()))[0]
            assert (await book(guest, slot["id"])).status_code == 201
        async with asyncio.timeout(CLOSE_WITHIN):
            frame = orjson.loads(await own.recv())
        assert (frame["event"], frame["appointment"]["id"]) == ("booked", slot["id"])


async def test_a_password_reset_closes_every_socket_of_the_account(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    provider: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    user_id: UUID = await db.fetchval("SELECT id FROM users WHERE email = 'ada@example.com'")
    await account_tokens.insert_token(
        db,
        purpose="password_reset",
        user_id=user_id,
        email="ada@example.com",
        token="a-reset-token-from-the-e-mail",
        lifetime=timedelta(hours=1),
    )
    async with provider_socket(live_app.url, client) as socket:
        reset = await second_browser.post(
            "/api/auth/password-reset/confirm",
            json={"token": "a-reset-token-from-the-e-mail", "password": "battery staple"},
        )
        assert reset.status_code == 200, reset.text

        assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


async def test_a_session_gone_without_any_notice_is_found_by_the_periodic_check(
    start_app: StartApp, db: asyncpg.Connection
) -> None:
    # No revocation notice is published here: only the periodic re-check can see it.
    app = await start_app(session_check_seconds=0.2)
    async with app.client() as http:
        await make_provider(http)
        async with provider_socket(app.url, http) as socket:
            await db.execute("DELETE FROM sessions")

            assert await closed_with(socket) == CLOSE_UNAUTHENTICATED
