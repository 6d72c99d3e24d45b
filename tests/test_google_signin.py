"""Sign in with Google (OpenID Connect) against a local provider, redirects followed by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from server.auth.google import safe_next
from tests.conftest import LiveApp, SignUp, StartApp
from tests.support.oidc_provider import LocalOIDCProvider
from tests.support.serving import free_port

FAILED = "/login?error=google_failed"


@pytest.fixture(autouse=True)
def provider(oidc_provider: LocalOIDCProvider) -> LocalOIDCProvider:
    """The local provider with its default identity and no tampering left from another test."""
    oidc_provider.reset()
    return oidc_provider


@pytest.fixture
async def other_client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser with a cookie jar of its own."""
    async with live_app.client() as http:
        yield http


async def start_google(client: httpx.AsyncClient, next_path: str | None = None) -> str:
    """Click "Continue with Google": the authorization URL we are sent to."""
    params = {} if next_path is None else {"next": next_path}
    response = await client.get("/auth/google", params=params)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


async def approve(authorization_url: str) -> str:
    """The provider's answer: the callback URL it sends the browser back to."""
    async with httpx.AsyncClient(timeout=15) as browser:
        response = await browser.get(authorization_url)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


async def sign_in_with_google(client: httpx.AsyncClient, next_path: str | None = None) -> str:
    """The whole round trip; returns where our callback redirects the browser."""
    callback = await approve(await start_google(client, next_path))
    response = await client.get(callback)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


async def signed_in_user(client: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await client.get("/api/me")
    if response.status_code == 401:
        return None
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


async def user_count(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM users")
    return count


# --- Signing up and in ------------------------------------------------------------------------


async def test_new_google_account_signs_up_and_lands_on_the_dashboard(
    client: httpx.AsyncClient, provider: LocalOIDCProvider, db: asyncpg.Connection
) -> None:
    provider.next_identity(sub="g-100", email="grace@example.com", name="Grace  Hopper")

    assert await sign_in_with_google(client) == "/dashboard"

    user = await signed_in_user(client)
    assert user is not None
    assert (user["email"], user["name"], user["is_provider"]) == (
        "grace@example.com",
        "Grace Hopper",
        False,
    )
    subject = await db.fetchval("SELECT google_subject FROM users WHERE id = $1::uuid", user["id"])
    assert subject == "g-100"


async def test_authorization_request_carries_state_nonce_scope_and_our_callback(
    client: httpx.AsyncClient, live_app: LiveApp, redis_client: Redis
) -> None:
    url = await start_google(client)

    parts = urlsplit(url)
    params = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert url.startswith(
        f"{live_app.config.google_discovery_url.rsplit('/.well-known', 1)[0]}/authorize?"
    )
    assert params["response_type"] == "code"
    assert params["scope"] == "openid email profile"
    assert params["client_id"] == live_app.config.google_client_id
    assert params["redirect_uri"] == f"{live_app.url}/auth/google/callback"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["code_challenge_method"] == "S256"
    ttl = await redis_client.ttl(f"appointly:google-state:{params['state']}")
    assert 0 < ttl <= 600


async def test_sign_in_goes_to_the_requested_local_path(client: httpx.AsyncClient) -> None:
    assert await sign_in_with_google(client, "/services/abc?tab=slots") == "/services/abc?tab=slots"
    assert await signed_in_user(client) is not None


async def test_the_same_google_account_always_signs_in_as_the_same_user(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
) -> None:
    provider.next_identity(sub="g-7", email="lin@example.com", name="Lin")
    await sign_in_with_google(client)
    # Even if the Google account's email or name changed meanwhile, sub decides.
    provider.next_identity(sub="g-7", email="lin.new@example.com", name="Lin New")
    await sign_in_with_google(other_client)

    first, second = await signed_in_user(client), await signed_in_user(other_client)
    assert first is not None and second is not None
    assert first["id"] == second["id"]
    assert await user_count(db) == 1


async def test_verified_google_email_links_to_a_verified_password_account_which_keeps_its_password(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    sign_up: SignUp,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
) -> None:
    existing = await sign_up(email="Ada@Example.com", password="correct horse", name="Ada")
    await db.execute("UPDATE users SET email_verified = true WHERE id = $1::uuid", existing["id"])
    provider.next_identity(sub="g-ada", email="ada@example.com", email_verified=True, name="A L")

    assert await sign_in_with_google(other_client) == "/dashboard"

    linked = await signed_in_user(other_client)
    assert linked is not None and linked["id"] == existing["id"]
    assert linked["name"] == "Ada"  # the account keeps its own name
    assert await user_count(db) == 1
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=15) as third:
        login = await third.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "correct horse"}
        )
    assert login.status_code == 200
    assert login.json()["user"]["id"] == existing["id"]


async def test_linking_a_never_verified_password_account_removes_its_password_and_sessions(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    sign_up: SignUp,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
    live_app: LiveApp,
) -> None:
    # Mallory signed up first with Ada's address, which was never verified.
    squatter = await sign_up(email="ada@example.com", password="mallory's password")
    provider.next_identity(sub="g-ada", email="ada@example.com", email_verified=True)

    assert await sign_in_with_google(other_client) == "/dashboard"

    owner = await signed_in_user(other_client)
    assert owner is not None and owner["id"] == squatter["id"]
    assert owner["email_verified"] is True
    assert await signed_in_user(client) is None  # Mallory's session has ended
    assert await db.fetchval("SELECT password_hash FROM users") is None
    async with live_app.client() as third:
        login = await third.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "mallory's password"}
        )
    assert login.status_code == 401


async def test_unverified_google_email_matching_an_account_is_refused(
    other_client: httpx.AsyncClient,
    sign_up: SignUp,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
) -> None:
    await sign_up(email="ada@example.com")
    provider.next_identity(sub="g-mallory", email="ada@example.com", email_verified=False)

    assert await sign_in_with_google(other_client) == FAILED

    assert await signed_in_user(other_client) is None
    assert await db.fetchval("SELECT google_subject FROM users") is None


async def test_a_second_google_account_cannot_take_over_an_already_linked_account(
    other_client: httpx.AsyncClient,
    sign_up: SignUp,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
    live_app: LiveApp,
) -> None:
    await sign_up(email="ada@example.com")
    provider.next_identity(sub="g-first", email="ada@example.com", email_verified=True)
    assert await sign_in_with_google(other_client) == "/dashboard"

    provider.next_identity(sub="g-second", email="ada@example.com", email_verified=True)
    async with live_app.client() as third:
        assert await sign_in_with_google(third) == FAILED
        assert await signed_in_user(third) is None
    assert await db.fetchval("SELECT google_subject FROM users") == "g-first"


async def test_a_signing_key_rotation_is_picked_up(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, provider: LocalOIDCProvider
) -> None:
    provider.next_identity(sub="g-1", email="one@example.com")
    await sign_in_with_google(client)  # the app now caches the old key
    provider.rotate_key()
    provider.next_identity(sub="g-2", email="two@example.com")

    assert await sign_in_with_google(other_client) == "/dashboard"
    assert await signed_in_user(other_client) is not None


# --- Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tampering",
    [
        pytest.param({"nonce": "not-the-nonce-we-sent"}, id="wrong_nonce"),
        pytest.param({"aud": "someone-elses-client"}, id="wrong_audience"),
        pytest.param({"aud": ["someone-elses-client", "x"]}, id="audience_list_without_us"),
        pytest.param({"exp_offset": -120}, id="expired"),
        pytest.param({"sign_with_other_key": True}, id="bad_signature"),
        pytest.param({"issuer": "http://evil.example"}, id="wrong_issuer"),
        pytest.param({"token_status": 500}, id="token_endpoint_failure"),
        pytest.param({"extra_claims": {"sub": ""}}, id="empty_subject"),
    ],
)
async def test_a_bad_id_token_is_refused_without_a_session(
    client: httpx.AsyncClient,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
    tampering: dict[str, Any],
) -> None:
    provider.tamper(**tampering)

    assert await sign_in_with_google(client, "/services") == FAILED

    assert await signed_in_user(client) is None
    assert await user_count(db) == 0


async def test_a_replayed_state_is_refused(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    authorization_url = await start_google(client)
    first = await client.get(await approve(authorization_url))
    assert first.headers["location"] == "/dashboard"
    # A fresh, valid code from the provider, but with the state that was already used.
    replay = await other_client.get(await approve(authorization_url))

    assert replay.status_code == 302
    assert replay.headers["location"] == FAILED
    assert await signed_in_user(other_client) is None


@pytest.mark.parametrize("victim_started_a_sign_in", [False, True])
async def test_an_attackers_callback_opened_in_a_victims_browser_does_not_sign_the_victim_in(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    provider: LocalOIDCProvider,
    db: asyncpg.Connection,
    victim_started_a_sign_in: bool,
) -> None:
    # Login CSRF: Mallory approves in her own browser and lures Ada to the callback URL.
    provider.next_identity(sub="g-mallory", email="mallory@example.com")
    attacker_callback = await approve(await start_google(other_client))
    if victim_started_a_sign_in:
        await start_google(client)  # Ada holds a binding cookie, but not Mallory's

    response = await client.get(attacker_callback)

    assert response.status_code == 302
    assert response.headers["location"] == FAILED
    assert await signed_in_user(client) is None
    assert await user_count(db) == 0


async def test_the_binding_cookie_is_http_only_lax_short_lived_and_only_for_google_sign_in(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/auth/google")

    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=", 1)[0].lower(): part for part in cookie.split(";")}
    assert cookie.startswith("appointly_google_binding=")
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert attributes["path"].strip() == "Path=/auth/google"
    assert 0 < int(attributes["max-age"].split("=")[1]) <= 600
    assert "secure" not in attributes  # BASE_URL is http here; https adds Secure


async def test_the_binding_cookie_is_secure_when_base_url_is_https(start_app: StartApp) -> None:
    app = await start_app(base_url="https://appointly.example")
    async with app.client() as http:
        response = await http.get("/auth/google")

    assert response.status_code == 302
    assert "; secure" in response.headers["set-cookie"].lower()


async def test_two_sign_ins_started_in_two_tabs_of_one_browser_both_work(
    client: httpx.AsyncClient,
) -> None:
    first = await start_google(client)
    second = await start_google(client)

    assert (await client.get(await approve(first))).headers["location"] == "/dashboard"
    assert (await client.get(await approve(second))).headers["location"] == "/dashboard"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="no_parameters"),
        pytest.param({"code": "x"}, id="no_state"),
        pytest.param({"code": "x", "state": "never-issued"}, id="unknown_state"),
        pytest.param({"code": "x", "state": "s" * 5000}, id="huge_state"),
    ],
)
async def test_a_callback_without_a_state_we_issued_is_refused(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    response = await client.get("/auth/google/callback", params=query)

    assert response.status_code == 302
    assert response.headers["location"] == FAILED
    assert await signed_in_user(client) is None


async def test_the_user_declining_at_google_is_refused(
    client: httpx.AsyncClient, provider: LocalOIDCProvider
) -> None:
    provider.refuse_next("access_denied")

    assert await sign_in_with_google(client) == FAILED
    assert await signed_in_user(client) is None


async def test_a_code_for_another_state_cannot_be_used_without_the_pkce_verifier(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    # An attacker's own code pasted into the victim's callback with the victim's state.
    victim_state = parse_qs(urlsplit(await start_google(client)).query)["state"][0]
    attacker_callback = await approve(await start_google(other_client))
    attacker_code = parse_qs(urlsplit(attacker_callback).query)["code"][0]

    response = await client.get(
        "/auth/google/callback", params={"code": attacker_code, "state": victim_state}
    )

    assert response.headers["location"] == FAILED
    assert await signed_in_user(client) is None


async def test_an_unreachable_provider_is_refused_not_a_500(start_app: StartApp) -> None:
    down = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    app = await start_app(google_discovery_url=down)
    async with app.client() as http:
        response = await http.get("/auth/google")
        callback = await http.get("/auth/google/callback", params={"code": "x", "state": "y"})

    assert (response.status_code, response.headers["location"]) == (302, FAILED)
    assert (callback.status_code, callback.headers["location"]) == (302, FAILED)


async def test_a_provider_going_down_before_the_code_exchange_is_refused(
    start_app: StartApp,
) -> None:
    flaky = LocalOIDCProvider()
    await flaky.start()
    app = await start_app(google_discovery_url=flaky.discovery_url)
    async with app.client() as http:
        callback = await approve(await start_google(http))
        await flaky.stop()
        response = await http.get(callback)
        me = await http.get("/api/me")

    assert (response.status_code, response.headers["location"]) == (302, FAILED)
    assert me.status_code == 401


async def test_google_sign_in_answers_404_when_not_configured(start_app: StartApp) -> None:
    app = await start_app(google_client_id=None, google_client_secret=None)
    async with app.client() as http:
        response = await http.get("/auth/google")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "google_disabled"


# --- Where to go afterwards -------------------------------------------------------------------


@pytest.mark.parametrize(
    "unsafe",
    ["//evil.example", "https://evil.example", "/\\evil", "/\t/evil.example", "evil", ""],
)
async def test_an_unsafe_next_falls_back_to_the_dashboard(
    client: httpx.AsyncClient, unsafe: str
) -> None:
    assert await sign_in_with_google(client, unsafe) == "/dashboard"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "/dashboard"),
        ("/bookings/1?key=a", "/bookings/1?key=a"),
        ("/", "/"),
        ("//evil.example/x", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("http://evil.example", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("/ok\nLocation: x", "/dashboard"),
        ("/" + "a" * 3000, "/dashboard"),
    ],
)
def test_safe_next_keeps_only_local_paths(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected
