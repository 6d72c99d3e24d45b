"""The CSRF rule: a state-changing request carrying the session cookie must come from BASE_URL's
origin when it says where it comes from."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveApp, SignUp

EVIL = "https://evil.example"


async def test_a_cross_site_post_with_the_session_cookie_is_refused_and_does_nothing(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post("/api/auth/logout", headers={"Origin": EVIL})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    # The logout did not happen: the session still works.
    assert (await client.get("/api/me")).status_code == 200


async def test_a_cross_site_state_change_through_the_api_is_refused(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers",
        json={"business_name": "Evil Co", "timezone": "Europe/London"},
        headers={"Origin": EVIL},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert (await client.get("/api/providers/me")).status_code == 404


@pytest.mark.parametrize(
    "origin",
    [
        "null",  # sandboxed iframes and some redirects send this
        "http://127.0.0.1",  # same host, other port
        "https://127.0.0.1",  # other scheme
    ],
)
async def test_any_origin_other_than_base_url_is_foreign(
    live_app: LiveApp, client: httpx.AsyncClient, sign_up: SignUp, origin: str
) -> None:
    await sign_up()
    response = await client.post("/api/auth/logout", headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


async def test_a_post_from_base_urls_own_origin_is_allowed(
    live_app: LiveApp, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(
        "/api/auth/logout", headers={"Origin": live_app.config.base_origin}
    )
    assert response.status_code == 204
    assert (await client.get("/api/me")).status_code == 401


async def test_a_post_without_an_origin_header_is_allowed(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post("/api/auth/logout")
    assert response.status_code == 204
    assert (await client.get("/api/me")).status_code == 401


async def test_a_cross_site_post_without_the_session_cookie_is_not_a_csrf_matter(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/auth/signup",
        json={"email": "widget@example.com", "password": "12345678", "name": "W"},
        headers={"Origin": EVIL},
    )
    assert response.status_code == 201


async def test_reading_with_a_foreign_origin_is_not_refused(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.get("/api/me", headers={"Origin": EVIL})
    assert response.status_code == 200
