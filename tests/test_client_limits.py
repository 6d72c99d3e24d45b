"""Per-address limits on what anyone can do anonymously: booking, signing up, opening live
sockets. 429 `rate_limited` with Retry-After once spent; `0` turns a limit off; a Redis outage
lets requests through instead of failing them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.infra.config import Config, ConfigError, RateLimit, load_config
from tests.conftest import LiveApp, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.private_redis import PrivateRedis, private_redis
from tests.support.sockets import session_cookie_header, ws_url


def test_bookings_are_limited_to_20_a_minute_per_address_by_default() -> None:
    assert load_config({}).booking_rate_limit == RateLimit(20, 60)
    assert Config().booking_rate_limit == RateLimit(20, 60)


def test_sign_ups_and_socket_connects_are_limited_by_default() -> None:
    config = load_config({})
    assert config.signup_rate_limit == RateLimit(10, 3600)
    assert config.websocket_rate_limit == RateLimit(60, 60)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5/10", RateLimit(5, 10)), (" 100 / 3600 ", RateLimit(100, 3600)), ("0", None)],
)
def test_a_rate_limit_is_n_per_seconds_or_0_for_none(value: str, expected: Any) -> None:
    for name, attribute in (
        ("BOOKING_RATE_LIMIT", "booking_rate_limit"),
        ("SIGNUP_RATE_LIMIT", "signup_rate_limit"),
        ("WEBSOCKET_RATE_LIMIT", "websocket_rate_limit"),
    ):
        assert getattr(load_config({name: value}), attribute) == expected


@pytest.mark.parametrize("value", ["20", "20/", "/60", "a/60", "0/60", "20/0", "²/60", "-1/60"])
def test_a_malformed_rate_limit_stops_the_start_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="BOOKING_RATE_LIMIT"):
        load_config({"BOOKING_RATE_LIMIT": value})


@pytest.fixture
async def provider_http(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        yield http


async def _service_with_slots(
    provider_http: httpx.AsyncClient, count: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    await make_provider(provider_http)
    service = await create_service(provider_http)
    slots = await free_slots(provider_http, service["id"], tomorrow())
    assert len(slots) >= count
    return service, slots


def _is_rate_limited(response: httpx.Response) -> bool:
    return response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"


def _retry_after(response: httpx.Response, window: int) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= window
    return seconds


async def test_the_booking_after_the_limit_is_refused_with_retry_after(
    start_app: StartApp, provider_http: httpx.AsyncClient
) -> None:
    app = await start_app(booking_rate_limit=RateLimit(3, 60))
    service, slots = await _service_with_slots(provider_http, 4)
    async with app.client() as guest:
        for slot in slots[:3]:
            assert (await book(guest, slot["id"])).status_code == 201
        refused = await book(guest, slots[3]["id"])
    assert _is_rate_limited(refused), refused.text
    _retry_after(refused, 60)
    # The slot was not taken: the limit answers before any booking work.
    still_free = await free_slots(provider_http, service["id"], tomorrow())
    assert slots[3]["id"] in {slot["id"] for slot in still_free}


async def test_malformed_booking_requests_spend_the_quota_too(
    start_app: StartApp, provider_http: httpx.AsyncClient
) -> None:
    app = await start_app(booking_rate_limit=RateLimit(2, 60))
    _, slots = await _service_with_slots(provider_http, 1)
    async with app.client() as script:
        for _ in range(2):
            assert (await script.post("/api/bookings", json={})).status_code == 422
        assert _is_rate_limited(await book(script, slots[0]["id"]))


async def test_a_booking_limit_of_0_turns_it_off(
    start_app: StartApp, provider_http: httpx.AsyncClient
) -> None:
    off = load_config({"BOOKING_RATE_LIMIT": "0"}).booking_rate_limit
    app = await start_app(booking_rate_limit=off)
    _, slots = await _service_with_slots(provider_http, 16)
    async with app.client() as guest:
        for slot in slots[:16]:
            assert (await book(guest, slot["id"])).status_code == 201


async def test_the_booking_limit_is_documented_in_openapi(live_app: LiveApp) -> None:
    async with live_app.client() as http:
        document = (await http.get("/openapi.json")).json()
    for path in ("/api/bookings", "/api/auth/signup"):
        assert "429" in document["paths"][path]["post"]["responses"], path


async def test_sign_ups_after_the_limit_are_refused_with_retry_after(
    start_app: StartApp,
) -> None:
    app = await start_app(signup_rate_limit=RateLimit(2, 3600))
    answers = []
    for number in range(3):
        async with app.client() as http:
            answers.append(
                await http.post(
                    "/api/auth/signup",
                    json={"email": f"s{number}@example.com", "password": "12345678", "name": "S"},
                )
            )
    assert [answer.status_code for answer in answers[:2]] == [201, 201]
    assert _is_rate_limited(answers[2]), answers[2].text
    _retry_after(answers[2], 3600)


async def test_socket_connects_after_the_limit_are_refused_before_the_handshake(
    start_app: StartApp, provider_http: httpx.AsyncClient
) -> None:
    app = await start_app(websocket_rate_limit=RateLimit(2, 60))
    service, _ = await _service_with_slots(provider_http, 1)
    day = tomorrow().isoformat()
    slots_url = ws_url(app.url, f"/ws/services/{service['id']}/slots?from={day}&to={day}")
    async with connect(slots_url, open_timeout=10) as socket:
        assert '"snapshot"' in str(await socket.recv())
    # The provider feed counts against the same quota.
    provider_url = ws_url(app.url, "/ws/provider")
    headers = session_cookie_header(provider_http)
    async with connect(provider_url, open_timeout=10, additional_headers=headers):
        pass
    for url in (slots_url, provider_url):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, open_timeout=10, additional_headers=headers):
                pass
        assert refused.value.response.status_code == 429
        assert 1 <= int(refused.value.response.headers["Retry-After"]) <= 60


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    async with private_redis(tmp_path) as server:
        yield server


async def test_bookings_go_on_unlimited_while_redis_is_down(
    start_app: StartApp, provider_http: httpx.AsyncClient, redis_server: PrivateRedis
) -> None:
    app = await start_app(redis_url=redis_server.url, booking_rate_limit=RateLimit(1, 60))
    _, slots = await _service_with_slots(provider_http, 2)
    try:
        async with app.client() as guest:
            await redis_server.kill()
            for slot in slots[:2]:
                answer = await book(guest, slot["id"])
                assert answer.status_code == 201, answer.text
    finally:
        await app.server.stop()
