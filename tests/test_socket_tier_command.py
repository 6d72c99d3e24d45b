"""`appointly serve` starts the socket tier beside Hypercorn and points its pages at it; the tier
reads the web server's session cookies (development's random SECRET_KEY, generated once)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect

from tests.conftest import make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.cli_process import (
    appointly_env,
    run_appointly,
    start_appointly,
    wait_for_child,
    wait_until_gone,
)
from tests.support.sockets import session_cookie_header, watch_slots

pytestmark = pytest.mark.slow


async def wait_until_listening(port: int, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


@pytest.fixture
def service_env(empty_database_url: str, redis_url: str) -> dict[str, str]:
    # No SECRET_KEY: development's key is random per start, so the parent must share its own.
    return appointly_env(DATABASE_URL=empty_database_url, REDIS_URL=redis_url)


async def test_serve_starts_the_socket_tier_and_its_pages_and_widget_connect_to_it(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    assert (await run_appointly("migrate", env=service_env)).status == 0
    running = await start_appointly("serve", env=service_env, output=tmp_path / "serve.log")
    try:
        await running.wait_until_serving()
        tier_pid = await wait_for_child(running, "sockets")
        port = int(running.url.rpartition(":")[2])
        tier_ws = f"ws://127.0.0.1:{port + 1}"
        tier_http = f"http://127.0.0.1:{port + 1}"
        await wait_until_listening(port + 1)
        async with running.client() as provider, running.client() as guest:
            page = (await provider.get("/login")).text
            meta = re.search(r'<meta name="appointly-sockets" content="([^"]+)">', page)
            assert meta is not None and meta[1] == tier_ws
            assert (await guest.get("/api/realtime")).json() == {"sockets_url": tier_ws}

            await make_provider(provider)
            service = await create_service(provider)
            slot = (await free_slots(guest, service["id"], tomorrow()))[0]
            headers = {**session_cookie_header(provider), "Origin": running.url}
            async with (
                watch_slots(tier_http, service["id"], tomorrow()) as watcher,
                connect(f"{tier_ws}/ws/provider", additional_headers=headers) as alerts,
            ):
                assert (await book(guest, slot["id"])).status_code == 201
                await watcher.wait_for_view(
                    lambda view: view[slot["start_time"]]["available"] is False, timeout=10
                )
                async with asyncio.timeout(10):
                    alert = orjson.loads(await alerts.recv())
                assert (alert["event"], alert["appointment"]["id"]) == ("booked", slot["id"])
        status = await running.interrupt()
        await wait_until_gone(tier_pid)
    finally:
        await running.kill()
    assert status == 0, running.log()
    assert "Traceback" not in running.log(), running.log()
