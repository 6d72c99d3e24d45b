"""X-Forwarded-For / X-Forwarded-Proto count only when they come from a proxy listed in
FORWARDED_ALLOW_IPS: behind it each client has its own rate limits; anyone else sending them
is ignored (a script cannot pick the address it is counted as)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from ipaddress import ip_network
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from server.auth.rate_limit import MAX_FAILURES_PER_IP, LoginThrottle
from server.edge.forwarded import TrustedProxyHeaders
from server.infra.config import ConfigError, RateLimit, load_config
from tests.conftest import StartApp
from tests.support.booking import book, free_slots, tomorrow
from tests.support.serving import RunningServer, start_asgi
from tests.support.sockets import ws_url

LOOPBACK = (ip_network("127.0.0.1/32"),)
ELSEWHERE = (ip_network("10.9.9.9/32"),)


def forwarded_for(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_forwarded_allow_ips_lists_addresses_and_networks_and_is_empty_by_default() -> None:
    assert load_config({}).forwarded_allow_ips == ()
    config = load_config({"FORWARDED_ALLOW_IPS": "10.0.0.1, 10.1.0.0/16,::1"})
    assert config.forwarded_allow_ips == (
        ip_network("10.0.0.1/32"),
        ip_network("10.1.0.0/16"),
        ip_network("::1/128"),
    )


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.300", "*"])
def test_forwarded_allow_ips_refuses_what_is_not_an_address(value: str) -> None:
    with pytest.raises(ConfigError, match="FORWARDED_ALLOW_IPS"):
        load_config({"FORWARDED_ALLOW_IPS": value})


# --- the middleware on its own, served for real ------------------------------------------------


async def _echo_scope(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app answering with the client address and scheme it was given."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    seen = orjson.dumps({"client": scope["client"][0], "scheme": scope["scheme"]})
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": seen.decode()})
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": seen})


@pytest.fixture
async def behind_trusted_proxy() -> AsyncIterator[RunningServer]:
    server = await start_asgi(TrustedProxyHeaders(_echo_scope, LOOPBACK))
    yield server
    await server.stop()


@pytest.fixture
async def behind_untrusted_peer() -> AsyncIterator[RunningServer]:
    server = await start_asgi(TrustedProxyHeaders(_echo_scope, ELSEWHERE))
    yield server
    await server.stop()


async def _seen(server: RunningServer, headers: dict[str, str]) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        seen: dict[str, str] = (await http.get("/", headers=headers)).json()
    return seen


@pytest.mark.parametrize(
    ("headers", "client", "scheme"),
    [
        ({}, "127.0.0.1", "http"),
        (forwarded_for("203.0.113.7"), "203.0.113.7", "http"),
        ({"X-Forwarded-Proto": "https"}, "127.0.0.1", "https"),
        # A client's own header comes first; the trusted proxy appends what it saw.
        (forwarded_for("198.51.100.1, 203.0.113.7"), "203.0.113.7", "http"),
        (forwarded_for("203.0.113.7, 127.0.0.1"), "203.0.113.7", "http"),
        (forwarded_for("[2001:db8::7]:4711"), "2001:db8::7", "http"),
        (forwarded_for("203.0.113.7:4711"), "203.0.113.7", "http"),
        (forwarded_for("not-an-address"), "127.0.0.1", "http"),
        ({"X-Forwarded-Proto": "gopher"}, "127.0.0.1", "http"),
    ],
)
async def test_a_trusted_proxy_sets_the_client_address_and_scheme(
    behind_trusted_proxy: RunningServer, headers: dict[str, str], client: str, scheme: str
) -> None:
    assert await _seen(behind_trusted_proxy, headers) == {"client": client, "scheme": scheme}


async def test_anyone_else_sending_forwarded_headers_is_ignored(
    behind_untrusted_peer: RunningServer,
) -> None:
    headers = {**forwarded_for("203.0.113.7"), "X-Forwarded-Proto": "https"}
    assert await _seen(behind_untrusted_peer, headers) == {"client": "127.0.0.1", "scheme": "http"}


async def test_a_trusted_proxy_forwarding_a_secure_socket_makes_it_wss(
    behind_trusted_proxy: RunningServer,
) -> None:
    headers = {**forwarded_for("203.0.113.7"), "X-Forwarded-Proto": "https"}
    async with connect(ws_url(behind_trusted_proxy.url, "/"), additional_headers=headers) as ws:
        seen = orjson.loads(await ws.recv())
    assert seen == {"client": "203.0.113.7", "scheme": "wss"}


# --- Appointly behind a proxy ------------------------------------------------------------------


@pytest.fixture
async def two_free_slots(
    client: httpx.AsyncClient, service: dict[str, Any]
) -> list[dict[str, Any]]:
    """Two bookable slots of a service on the main server (the one under test is another)."""
    return (await free_slots(client, service["id"], tomorrow()))[:2]


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_booking_limit(
    start_app: StartApp, two_free_slots: list[dict[str, Any]]
) -> None:
    app = await start_app(forwarded_allow_ips=LOOPBACK, booking_rate_limit=RateLimit(1, 60))
    first, second = two_free_slots
    async with app.client() as proxy:
        assert (await book(proxy, first["id"], forwarded_for("203.0.113.7"))).status_code == 201
        again = await book(proxy, second["id"], forwarded_for("203.0.113.7"))
        assert again.status_code == 429, again.text
        other = await book(proxy, second["id"], forwarded_for("203.0.113.8"))
        assert other.status_code == 201, other.text


async def test_from_an_untrusted_peer_forwarded_clients_share_the_peers_booking_limit(
    start_app: StartApp, two_free_slots: list[dict[str, Any]]
) -> None:
    app = await start_app(forwarded_allow_ips=ELSEWHERE, booking_rate_limit=RateLimit(1, 60))
    first, second = two_free_slots
    async with app.client() as script:
        assert (await book(script, first["id"], forwarded_for("203.0.113.7"))).status_code == 201
        spoofed = await book(script, second["id"], forwarded_for("203.0.113.8"))
        assert spoofed.status_code == 429, spoofed.text


async def _login_status(http: httpx.AsyncClient, address: str) -> int:
    answer = await http.post(
        "/api/auth/login",
        json={"email": "nobody@example.com", "password": "wrong password"},
        headers=forwarded_for(address),
    )
    return answer.status_code


async def _lock_out(redis_client: Redis, address: str) -> None:
    """`address` has just failed to sign in as often as an address may (each time for another
    account), as 50 wrong passwords would leave it, without 50 slow password checks."""
    for attempt in range(MAX_FAILURES_PER_IP):
        await LoginThrottle(redis_client, address, f"user{attempt}@example.com").record_failure()


async def test_behind_a_trusted_proxy_wrong_passwords_lock_out_only_their_own_client(
    start_app: StartApp, redis_client: Redis
) -> None:
    app = await start_app(forwarded_allow_ips=LOOPBACK)
    await _lock_out(redis_client, "203.0.113.7")
    async with app.client() as proxy:
        assert await _login_status(proxy, "203.0.113.7") == 429
        assert await _login_status(proxy, "203.0.113.8") == 401


async def test_from_an_untrusted_peer_wrong_passwords_count_for_the_peer(
    start_app: StartApp, redis_client: Redis
) -> None:
    app = await start_app(forwarded_allow_ips=ELSEWHERE)
    await _lock_out(redis_client, "127.0.0.1")
    async with app.client() as script:
        assert await _login_status(script, "203.0.113.8") == 429
