"""Hostile text and bodies are refused at the edge with the contract's errors, never a 500.

PostgreSQL cannot store the NUL character, and JSON nested a thousand levels deep used to make
the decoder raise RecursionError. These tests walk the app's URL map, so a route added later is
covered without editing them, and throw each kind of input at every route as a signed-in
provider (so that protected handlers would really run).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.edge.hostile_input import MAX_JSON_DEPTH
from tests.conftest import LiveApp, make_provider
from tests.support.booking import create_service
from tests.support.sockets import ws_url

_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
NUL = "\x00"

Route = tuple[str, str]  # (method, rule)


@pytest.fixture
async def provider_client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        await make_provider(http, email="hostile@example.com")
        yield http


@pytest.fixture
async def own_service_id(provider_client: httpx.AsyncClient) -> str:
    service_id: str = (await create_service(provider_client))["id"]
    return service_id


def http_routes(live_app: LiveApp) -> list[Route]:
    routes = {
        (method, rule.rule)
        for rule in live_app.app.url_map.iter_rules()
        if not getattr(rule, "websocket", False)
        for method in (rule.methods or set()) - IGNORED_METHODS
    }
    assert ("POST", "/api/bookings") in routes  # the walk really sees the app's routes
    return sorted(routes)


def concrete_path(rule: str, service_id: str, hostile: str | None = None) -> str:
    """The rule with real-looking values; the variable named `hostile` carries a NUL."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == hostile:
            return "a%00b"
        return service_id if "service" in name else str(uuid.uuid4())

    return _VARIABLE.sub(value, rule)


def variables(rule: str) -> list[str]:
    return _VARIABLE.findall(rule)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = [value]
    return {"wrapped": value}


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers.get("content-type", "").startswith("application/json"), response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def failures_of(checks: Iterator[str | None]) -> list[str]:
    return [failure for failure in checks if failure is not None]


# --- NUL characters ---------------------------------------------------------------------------


async def test_a_nul_in_a_query_parameter_is_refused_naming_it_on_every_route(
    live_app: LiveApp, provider_client: httpx.AsyncClient, own_service_id: str
) -> None:
    async def check(method: str, rule: str) -> str | None:
        response = await provider_client.request(
            method,
            concrete_path(rule, own_service_id),
            params={"q": f"massage{NUL}", "from": NUL, "key": "k"},
        )
        if response.status_code != 422:
            return f"{method} {rule} -> {response.status_code} {response.text[:150]}"
        error = error_of(response)
        if error["code"] != "validation_error" or set(error["fields"]) != {"q", "from"}:
            return f"{method} {rule} -> {error}"
        return None

    failures = [await check(method, rule) for method, rule in http_routes(live_app)]
    assert [failure for failure in failures if failure] == []


async def test_a_nul_in_a_path_variable_is_not_found_on_every_route(
    live_app: LiveApp, provider_client: httpx.AsyncClient, own_service_id: str
) -> None:
    failures = []
    for method, rule in http_routes(live_app):
        for name in variables(rule):
            path = concrete_path(rule, own_service_id, hostile=name)
            response = await provider_client.request(method, path)
            if response.status_code != 404:
                failures.append(f"{method} {path} -> {response.status_code} {response.text[:150]}")
    assert failures == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": f"ada{NUL}@example.com"}, "email"),
        ({"outer": {"inner": [1, {"deep": f"x{NUL}"}]}}, "outer.inner.1.deep"),
        ({f"key{NUL}": "value"}, "key\\u0000"),
        ([f"{NUL}"], "0"),
    ],
)
async def test_a_nul_anywhere_in_a_json_body_is_refused_naming_where_on_every_route(
    live_app: LiveApp,
    provider_client: httpx.AsyncClient,
    own_service_id: str,
    body: Any,
    field: str,
) -> None:
    failures = []
    for method, rule in http_routes(live_app):
        if method == "GET":
            continue
        response = await provider_client.request(
            method, concrete_path(rule, own_service_id), json=body
        )
        if response.status_code != 422 or error_of(response).get("fields") != {
            field: "Must not contain the NUL character (U+0000)."
        }:
            failures.append(f"{method} {rule} -> {response.status_code} {response.text[:150]}")
    assert failures == []


async def test_a_nul_in_a_header_is_refused_naming_it(live_app: LiveApp) -> None:
    # Hypercorn's HTTP/1.1 parser refuses such a header itself, so this goes through the app's
    # own test client: an ASGI server that lets one through must not reach the idempotency
    # records with it either.
    response = await live_app.app.test_client().post(
        "/api/bookings",
        json={"slot_id": str(uuid.uuid4()), "customer_name": "A", "customer_email": "a@b.co"},
        headers={"Idempotency-Key": f"retry{NUL}1"},
    )
    assert response.status_code == 422
    body = await response.get_json()
    assert body["error"]["fields"] == {
        "Idempotency-Key": "Must not contain the NUL character (U+0000)."
    }


async def test_the_routes_that_failed_with_a_nul_now_name_the_field(
    client: httpx.AsyncClient,
) -> None:
    search = await client.get("/api/services", params={"q": f"yoga{NUL}"})
    signup = await client.post(
        "/api/auth/signup",
        json={"email": f"a{NUL}@example.com", "password": "correct horse", "name": "A"},
    )
    reset = await client.post("/api/auth/password-reset", json={"email": f"a@example.com{NUL}"})
    booking = await client.post(
        "/api/bookings",
        json={
            "slot_id": str(uuid.uuid4()),
            "customer_name": "A",
            "customer_email": "a@example.com",
            "notes": f"window{NUL}seat",
        },
    )
    assert [
        (response.status_code, set(error_of(response)["fields"]))
        for response in (search, signup, reset, booking)
    ] == [(422, {"q"}), (422, {"email"}), (422, {"email"}), (422, {"notes"})]


async def test_a_nul_in_a_slot_watchers_query_is_refused_at_the_handshake(
    live_app: LiveApp, own_service_id: str
) -> None:
    url = ws_url(live_app.url, f"/ws/services/{own_service_id}/slots?from=2030-01-01%00")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, open_timeout=5):
            pass
    assert refused.value.response.status_code == 422


# --- Deep and large bodies --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
async def test_json_nested_too_deep_is_invalid_json_on_every_route(
    live_app: LiveApp, provider_client: httpx.AsyncClient, own_service_id: str, depth: int
) -> None:
    body = b'{"wrapped":' + b"[" * depth + b"]" * depth + b"}"
    failures = []
    for method, rule in http_routes(live_app):
        if method == "GET":
            continue
        response = await provider_client.request(
            method,
            concrete_path(rule, own_service_id),
            content=body,
            headers={"Content-Type": "application/json"},
        )
        if response.status_code != 400 or error_of(response)["code"] != "invalid_json":
            failures.append(f"{method} {rule} -> {response.status_code} {response.text[:150]}")
    assert failures == []


async def test_json_nested_up_to_the_limit_reaches_validation(
    provider_client: httpx.AsyncClient,
) -> None:
    response = await provider_client.post("/api/auth/signup", json=nested(MAX_JSON_DEPTH - 1))
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_a_megabyte_is_too_large(
    client: httpx.AsyncClient, chunked: bool
) -> None:
    body = b'{"email":"' + b"a" * (1024 * 1024) + b'"}'

    async def in_chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = await client.post(
        "/api/auth/password-reset",
        content=in_chunks() if chunked else body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
