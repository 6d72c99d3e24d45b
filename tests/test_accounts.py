"""Email + password accounts as the contract describes them."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import LiveApp, SignUp


async def test_signup_returns_the_user_and_signs_in(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/signup",
        json={"email": "Ada@Example.com", "password": "correct horse", "name": "Ada Lovelace"},
    )
    assert response.status_code == 201
    user = response.json()["user"]
    assert user["email"] == "Ada@Example.com"
    assert user["name"] == "Ada Lovelace"
    assert user["is_provider"] is False
    assert user["email_verified"] is False
    assert set(user) == {"id", "email", "name", "is_provider", "email_verified", "created_at"}
    me = await client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == user["id"]


async def test_session_cookie_is_httponly_and_lax(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "a@example.com", "password": "12345678", "name": "A"}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # BASE_URL is http in tests


async def test_email_is_unique_whatever_its_case(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com")
    response = await client.post(
        "/api/auth/signup",
        json={"email": "ADA@EXAMPLE.COM", "password": "another one", "name": "Imposter"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


async def test_short_password_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "a@example.com", "password": "1234567", "name": "A"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_password"


async def test_malformed_email_is_refused(client: httpx.AsyncClient) -> None:
    for email in ("not-an-email", "a@b", "a b@example.com", "@example.com", ""):
        response = await client.post(
            "/api/auth/signup", json={"email": email, "password": "12345678", "name": "A"}
        )
        assert response.status_code == 422, email
        assert response.json()["error"]["code"] == "invalid_email"


async def test_two_signups_racing_for_one_email_create_one_account(live_app: LiveApp) -> None:
    async def attempt() -> int:
        async with live_app.client() as http:
            response = await http.post(
                "/api/auth/signup",
                json={"email": "race@example.com", "password": "12345678", "name": "R"},
            )
            return response.status_code

    statuses = await asyncio.gather(*(attempt() for _ in range(5)))
    assert sorted(statuses) == [201, 409, 409, 409, 409]


async def test_login_with_the_right_password(live_app: LiveApp, sign_up: SignUp) -> None:
    await sign_up(email="ada@example.com", password="correct horse")
    async with live_app.client() as other:
        response = await other.post(
            "/api/auth/login", json={"email": "ADA@example.com", "password": "correct horse"}
        )
        assert response.status_code == 200
        assert response.json()["user"]["email"] == "ada@example.com"
        assert (await other.get("/api/me")).status_code == 200


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com")
    wrong = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": "wrong password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "wrong password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


async def test_repeated_failures_are_rate_limited(
    live_app: LiveApp, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com", password="correct horse")
    for _ in range(10):
        response = await client.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "guess"}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": "correct horse"}
    )
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert int(blocked.headers["retry-after"]) > 0


async def test_rate_limit_is_shared_between_server_processes(
    live_app: LiveApp, start_app: object, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com", password="correct horse")
    second = await start_app()  # type: ignore[operator]
    for index in range(10):
        target = live_app if index % 2 else second
        async with target.client() as http:
            await http.post(
                "/api/auth/login", json={"email": "ada@example.com", "password": "guess"}
            )
    async with second.client() as http:
        response = await http.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "correct horse"}
        )
    assert response.status_code == 429


async def test_logout_revokes_the_cookie_even_if_it_is_replayed(
    live_app: LiveApp, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    stolen = dict(client.cookies)
    response = await client.post("/api/auth/logout")
    assert response.status_code == 204
    assert (await client.get("/api/me")).status_code == 401
    async with live_app.client(cookies=stolen) as replay:
        me = await replay.get("/api/me")
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "unauthenticated"


async def test_me_without_a_session_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthenticated", "message": "Please sign in first."}
    }


async def test_a_forged_cookie_is_ignored(live_app: LiveApp) -> None:
    async with live_app.client(cookies={"appointly_session": "forged.value"}) as http:
        assert (await http.get("/api/me")).status_code == 401
