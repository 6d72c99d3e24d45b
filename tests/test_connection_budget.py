"""One slow dependency does not stall the process (issue 11, point 13): waiting for a pooled
connection is bounded and answered 503, password hashing holds no connection, and live sockets
read from a pool of their own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from server.infra.state import EXTENSION_KEY, AppState
from tests.conftest import LiveApp, StartApp
from tests.support.booking import tomorrow
from tests.support.sockets import watch_slots


@pytest.fixture
async def one_connection_app(start_app: StartApp) -> AsyncIterator[LiveApp]:
    """An app whose request pool has a single connection, and gives up waiting quickly."""
    app = await start_app(db_pool_size=1, db_acquire_timeout=0.5)
    yield app
    await app.server.stop()


def request_pool(app: LiveApp) -> Any:
    state: AppState = app.app.extensions[EXTENSION_KEY]
    return state.pool


class SlowHasher:
    """argon2 that waits for the test at each hash or verification, so a test can look at the
    app while a password is being checked."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.entered = threading.Event()
        self.proceed = threading.Event()

    def _wait(self) -> None:
        self.entered.set()
        assert self.proceed.wait(20), "the test never let the hashing go on"

    def hash(self, password: str) -> str:
        self._wait()
        return str(self._real.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        self._wait()
        return bool(self._real.verify(password_hash, password))


@pytest.fixture
def slow_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowHasher]:
    from server.auth import passwords

    hasher = SlowHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    yield hasher
    hasher.proceed.set()


async def test_a_request_finding_every_connection_busy_answers_503_busy_instead_of_waiting(
    one_connection_app: LiveApp, service: dict[str, Any]
) -> None:
    held = await request_pool(one_connection_app).acquire()
    try:
        async with one_connection_app.client() as http:
            response = await http.get(f"/api/services/{service['id']}")
    finally:
        await request_pool(one_connection_app).release(held)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "busy"
    assert response.headers["Retry-After"].isdigit()
    async with one_connection_app.client() as http:
        assert (await http.get(f"/api/services/{service['id']}")).status_code == 200


async def test_live_slots_have_their_own_connections_when_pages_use_every_one(
    one_connection_app: LiveApp, service: dict[str, Any]
) -> None:
    held = await request_pool(one_connection_app).acquire()
    try:
        async with watch_slots(one_connection_app.url, service["id"], tomorrow()) as watcher:
            assert watcher.view, "the snapshot lists the day's slots"
    finally:
        await request_pool(one_connection_app).release(held)


@pytest.mark.parametrize("route", ["/api/auth/login", "/api/auth/signup"])
async def test_checking_a_password_holds_no_database_connection(
    route: str,
    one_connection_app: LiveApp,
    service: dict[str, Any],
    slow_hasher: SlowHasher,
) -> None:
    async with one_connection_app.client() as http:
        body = {"email": "ada@example.com", "password": "correct horse"}
        if route.endswith("signup"):
            body = {"email": "grace@example.com", "password": "correct horse", "name": "Grace"}
        signing_in = asyncio.create_task(http.post(route, json=body))
        assert await asyncio.to_thread(slow_hasher.entered.wait, 10)

        # While argon2 works, the app's only connection is free for everyone else.
        assert (await http.get(f"/api/services/{service['id']}")).status_code == 200

        slow_hasher.proceed.set()
        assert (await signing_in).status_code in (200, 201)
