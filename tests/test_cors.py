"""CORS for the widget's routes: any origin may read services and slots and book, but a foreign
page never gets to use the Appointly session cookie, and the CSRF rule still guards the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import LiveApp, SignUp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow

FOREIGN = "https://salon.example"


@pytest.fixture
async def provider_http(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in provider's client (its own cookie jar)."""
    async with live_app.client() as http:
        await make_provider(http, email="owner@example.com")
        yield http


@pytest.fixture
async def service(provider_http: httpx.AsyncClient) -> dict[str, Any]:
    return await create_service(provider_http)


async def _a_free_slot(http: httpx.AsyncClient, service: dict[str, Any]) -> dict[str, Any]:
    return (await free_slots(http, service["id"], tomorrow()))[0]


def _preflight(method: str) -> dict[str, str]:
    return {
        "Origin": FOREIGN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,idempotency-key",
    }


# --- Preflight and headers --------------------------------------------------------------------


async def test_a_booking_preflight_from_any_origin_allows_post_with_json_and_an_idempotency_key(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/api/bookings", headers=_preflight("POST"))
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allowed
    assert "idempotency-key" in allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/services", "GET"),
        ("/api/services/{service}", "GET"),
        ("/api/services/{service}/slots", "GET"),
        ("/api/bookings/{booking}", "GET"),
        ("/api/bookings/{booking}/cancel", "POST"),
    ],
)
async def test_every_widget_route_answers_a_preflight_for_its_method(
    client: httpx.AsyncClient, service: dict[str, Any], path: str, method: str
) -> None:
    url = path.format(service=service["id"], booking="00000000-0000-0000-0000-000000000000")
    response = await client.options(url, headers=_preflight(method))
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert method in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_a_preflight_does_not_allow_changing_a_service_cross_origin(
    client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    response = await client.options(f"/api/services/{service['id']}", headers=_preflight("PATCH"))
    methods = response.headers.get("Access-Control-Allow-Methods", "")
    assert "PATCH" not in methods
    assert "DELETE" not in methods


async def test_reading_services_and_slots_cross_origin_carries_the_cors_header(
    client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    for url in (
        "/api/services",
        f"/api/services/{service['id']}",
        f"/api/services/{service['id']}/slots",
    ):
        response = await client.get(url, headers={"Origin": FOREIGN})
        assert response.status_code == 200, url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert "Access-Control-Allow-Credentials" not in response.headers, url


async def test_errors_on_widget_routes_are_readable_cross_origin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/api/services/00000000-0000-0000-0000-000000000000", headers={"Origin": FOREIGN}
    )
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json()["error"]["code"]


async def test_routes_outside_the_widget_do_not_answer_cors(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    me = await client.get("/api/me", headers={"Origin": FOREIGN})
    assert "Access-Control-Allow-Origin" not in me.headers
    preflight = await client.options("/api/services", headers=_preflight("POST"))
    assert "POST" not in preflight.headers.get("Access-Control-Allow-Methods", "")


async def test_the_widget_script_may_be_loaded_from_any_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/widget.js", headers={"Origin": FOREIGN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- The session cookie is never used cross-site ---------------------------------------------


async def test_a_foreign_origin_booking_with_the_session_cookie_is_booked_as_a_guest(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    await sign_up(email="carol@example.com")
    slot = await _a_free_slot(client, service)
    response = await book(client, slot["id"], headers={"Origin": FOREIGN})
    assert response.status_code == 201, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    appointment_id = response.json()["appointment"]["id"]
    linked = await db.fetchval(
        "SELECT customer_user_id FROM appointments WHERE id = $1", appointment_id
    )
    assert linked is None
    mine = await client.get("/api/me/bookings")
    assert mine.json()["appointments"] == []


async def test_the_same_booking_from_appointlys_own_pages_is_linked_to_the_account(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    sign_up: SignUp,
    service: dict[str, Any],
    db: asyncpg.Connection,
) -> None:
    user = await sign_up(email="carol@example.com")
    slot = await _a_free_slot(client, service)
    response = await book(client, slot["id"], headers={"Origin": live_app.config.base_origin})
    assert response.status_code == 201, response.text
    linked = await db.fetchval(
        "SELECT customer_user_id FROM appointments WHERE id = $1",
        response.json()["appointment"]["id"],
    )
    assert str(linked) == user["id"]


async def test_a_foreign_page_cannot_read_or_cancel_a_booking_through_the_cookie(
    client: httpx.AsyncClient, sign_up: SignUp, service: dict[str, Any]
) -> None:
    await sign_up(email="carol@example.com")
    slot = await _a_free_slot(client, service)
    booked = await book(client, slot["id"])  # no Origin: a same-site booking, linked
    appointment_id = booked.json()["appointment"]["id"]
    assert (await client.get(f"/api/bookings/{appointment_id}")).status_code == 200

    read = await client.get(f"/api/bookings/{appointment_id}", headers={"Origin": FOREIGN})
    assert read.status_code == 404
    cancel = await client.post(
        f"/api/bookings/{appointment_id}/cancel", headers={"Origin": FOREIGN}
    )
    assert cancel.status_code == 404
    still = await client.get(f"/api/bookings/{appointment_id}")
    assert still.json()["appointment"]["status"] == "PENDING"


async def test_a_foreign_page_holding_the_manage_key_can_cancel(
    client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    slot = await _a_free_slot(client, service)
    booked = await book(client, slot["id"], headers={"Origin": FOREIGN})
    manage_url = httpx.URL(booked.json()["manage_url"])
    appointment_id = booked.json()["appointment"]["id"]
    cancel = await client.post(
        f"/api/bookings/{appointment_id}/cancel",
        params={"key": manage_url.params["key"]},
        headers={"Origin": FOREIGN},
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["appointment"]["status"] == "CANCELLED"
    assert cancel.headers["Access-Control-Allow-Origin"] == "*"


async def test_the_csrf_rule_still_refuses_cookie_changes_outside_the_widget_routes(
    provider_http: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    response = await provider_http.patch(
        f"/api/services/{service['id']}", json={"name": "Hijacked"}, headers={"Origin": FOREIGN}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    created = await provider_http.post(
        "/api/services", json={"name": "x"}, headers={"Origin": FOREIGN}
    )
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "csrf_failed"
