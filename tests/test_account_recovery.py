"""Forgotten passwords, password changes and e-mail verification, as the contract describes them.

Links are read from the e-mails the real SMTP server received after the outbox was delivered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import LiveApp, Mailbox, SignUp
from tests.support.oidc_provider import LocalOIDCProvider

PASSWORD = "correct horse"
NEW_PASSWORD = "battery staple"

DeliverMail = Callable[[], Awaitable[None]]


@pytest.fixture
def deliver_mail(live_app: LiveApp) -> DeliverMail:
    """Run the worker's outbox delivery once, as its job would after our nudge."""
    from jobs.notifications import deliver_outbox

    async def deliver() -> None:
        state = live_app.app.extensions["appointly"]
        await deliver_outbox({"config": live_app.config, "pool": state.pool, "redis": state.redis})

    return deliver


@pytest.fixture
async def other_client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser, with a cookie jar of its own."""
    async with live_app.client() as http:
        yield http


def _link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(rf"\S+{re.escape(path)}\?token=[\w-]+", body.get_content())
    assert match, body.get_content()
    return match.group(0)


def _token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def _mail_to(mailbox: Mailbox, address: str, subject_part: str) -> EmailMessage:
    return await mailbox.wait_for(
        lambda message: message["To"] == address and subject_part in message["Subject"]
    )


LinkFromMail = Callable[..., Awaitable[str]]


@pytest.fixture
def reset_link(
    client: httpx.AsyncClient, mailbox: Mailbox, deliver_mail: DeliverMail
) -> LinkFromMail:
    """Ask for a reset of `email` and return the link from the e-mail that arrives."""

    async def ask(email: str = "ada@example.com") -> str:
        response = await client.post("/api/auth/password-reset", json={"email": email})
        assert response.status_code == 202, response.text
        await deliver_mail()
        return _link_in(await _mail_to(mailbox, email, "Reset"), "/reset-password")

    return ask


async def _log_in(live_app: LiveApp, email: str, password: str) -> int:
    async with live_app.client() as http:
        response = await http.post("/api/auth/login", json={"email": email, "password": password})
        return response.status_code


async def _confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": password}
    )


# --- Asking for a reset -----------------------------------------------------------------------


async def test_reset_e_mail_carries_a_single_use_link_to_the_reset_page(
    live_app: LiveApp, sign_up: SignUp, reset_link: LinkFromMail
) -> None:
    await sign_up(email="ada@example.com")
    link = await reset_link("ada@example.com")
    assert link.startswith(f"{live_app.url}/reset-password?token=")
    assert len(_token_of(link)) >= 40


async def test_reset_request_answers_the_same_for_unknown_addresses_and_mails_nobody(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    db: asyncpg.Connection,
    mailbox: Mailbox,
    deliver_mail: DeliverMail,
) -> None:
    await sign_up(email="ada@example.com")
    known = await client.post("/api/auth/password-reset", json={"email": "ada@example.com"})
    unknown = await client.post("/api/auth/password-reset", json={"email": "eve@example.com"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.content == unknown.content
    await deliver_mail()
    await _mail_to(mailbox, "ada@example.com", "Reset")
    assert [message["To"] for message in mailbox.messages] == ["ada@example.com"]
    assert await db.fetchval("SELECT count(*) FROM account_tokens") == 1


async def test_reset_request_with_a_malformed_address_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/password-reset", json={"email": "not an email"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_email"


async def test_reset_requests_are_rate_limited_per_address_known_or_not(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com")
    for email in ("ada@example.com", "nobody@example.com"):
        statuses = [
            (await client.post("/api/auth/password-reset", json={"email": email})).status_code
            for _ in range(6)
        ]
        assert statuses == [202] * 5 + [429], email
    limited = await client.post("/api/auth/password-reset", json={"email": "ADA@example.com"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 3600


async def test_reset_requests_are_rate_limited_per_ip_address(client: httpx.AsyncClient) -> None:
    statuses = [
        (
            await client.post("/api/auth/password-reset", json={"email": f"p{n}@example.com"})
        ).status_code
        for n in range(31)
    ]
    assert statuses == [202] * 30 + [429]


async def test_tokens_are_stored_only_as_hashes(
    sign_up: SignUp, reset_link: LinkFromMail, db: asyncpg.Connection
) -> None:
    await sign_up(email="ada@example.com")
    token = _token_of(await reset_link())
    stored = await db.fetchrow(
        "SELECT token_hash, expires_at - created_at AS life FROM account_tokens"
    )
    assert bytes(stored["token_hash"]) == hashlib.sha256(token.encode()).digest()
    assert stored["life"].total_seconds() == 3600
    dump = await db.fetchval("SELECT string_agg(t::text, ' ') FROM account_tokens t")
    assert token not in dump


# --- Using the link ---------------------------------------------------------------------------


async def test_reset_link_sets_the_new_password_and_signs_in(
    live_app: LiveApp, sign_up: SignUp, reset_link: LinkFromMail, other_client: httpx.AsyncClient
) -> None:
    user = await sign_up(email="ada@example.com", password=PASSWORD)
    token = _token_of(await reset_link())

    response = await _confirm(other_client, token, NEW_PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == user["id"]
    me = await other_client.get("/api/me")
    assert me.status_code == 200
    assert await _log_in(live_app, "ada@example.com", PASSWORD) == 401
    assert await _log_in(live_app, "ada@example.com", NEW_PASSWORD) == 200


async def test_following_a_reset_link_proves_the_address(
    sign_up: SignUp, reset_link: LinkFromMail, other_client: httpx.AsyncClient
) -> None:
    user = await sign_up(email="ada@example.com")
    assert user["email_verified"] is False
    response = await _confirm(other_client, _token_of(await reset_link()), NEW_PASSWORD)
    assert response.json()["user"]["email_verified"] is True


async def test_reset_signs_out_every_other_session(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    sign_up: SignUp,
    reset_link: LinkFromMail,
    other_client: httpx.AsyncClient,
) -> None:
    await sign_up(email="ada@example.com")  # `client` is signed in, like a stolen laptop
    assert (await client.get("/api/me")).status_code == 200
    await _confirm(other_client, _token_of(await reset_link()), NEW_PASSWORD)
    assert (await client.get("/api/me")).status_code == 401
    assert (await other_client.get("/api/me")).status_code == 200


async def test_reset_link_works_only_once(
    sign_up: SignUp, reset_link: LinkFromMail, other_client: httpx.AsyncClient
) -> None:
    await sign_up(email="ada@example.com")
    token = _token_of(await reset_link())
    assert (await _confirm(other_client, token, NEW_PASSWORD)).status_code == 200
    again = await _confirm(other_client, token, "third password")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"


async def test_expired_reset_link_is_refused(
    sign_up: SignUp,
    reset_link: LinkFromMail,
    db: asyncpg.Connection,
    other_client: httpx.AsyncClient,
) -> None:
    await sign_up(email="ada@example.com")
    token = _token_of(await reset_link())
    await db.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
    response = await _confirm(other_client, token, NEW_PASSWORD)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"


async def test_unknown_token_is_refused(client: httpx.AsyncClient) -> None:
    for token in ("made-up-token", "x" * 200):
        response = await _confirm(client, token, NEW_PASSWORD)
        assert response.status_code == 400, token
        assert response.json()["error"]["code"] == "invalid_token"


async def test_a_newer_reset_link_retires_the_older_one(
    sign_up: SignUp, reset_link: LinkFromMail, mailbox: Mailbox, other_client: httpx.AsyncClient
) -> None:
    await sign_up(email="ada@example.com")
    first = _token_of(await reset_link())
    mailbox.messages.clear()
    second = _token_of(await reset_link())
    assert first != second
    assert (await _confirm(other_client, first, NEW_PASSWORD)).status_code == 400
    assert (await _confirm(other_client, second, NEW_PASSWORD)).status_code == 200


async def test_weak_password_is_refused_and_the_link_still_works(
    sign_up: SignUp, reset_link: LinkFromMail, other_client: httpx.AsyncClient
) -> None:
    await sign_up(email="ada@example.com")
    token = _token_of(await reset_link())
    weak = await _confirm(other_client, token, "short")
    assert weak.status_code == 422
    assert weak.json()["error"]["code"] == "weak_password"
    assert (await _confirm(other_client, token, NEW_PASSWORD)).status_code == 200


# --- Changing a password ----------------------------------------------------------------------


async def _change(client: httpx.AsyncClient, current: str, new: str) -> httpx.Response:
    return await client.post(
        "/api/me/password", json={"current_password": current, "new_password": new}
    )


async def test_changing_the_password_keeps_this_session_and_ends_the_others(
    live_app: LiveApp, client: httpx.AsyncClient, sign_up: SignUp, other_client: httpx.AsyncClient
) -> None:
    await sign_up(email="ada@example.com", password=PASSWORD)
    login = await other_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200

    response = await _change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 204
    assert (await client.get("/api/me")).status_code == 200
    assert (await other_client.get("/api/me")).status_code == 401
    assert await _log_in(live_app, "ada@example.com", PASSWORD) == 401
    assert await _log_in(live_app, "ada@example.com", NEW_PASSWORD) == 200


async def test_changing_the_password_retires_outstanding_reset_links(
    client: httpx.AsyncClient, sign_up: SignUp, reset_link: LinkFromMail, live_app: LiveApp
) -> None:
    await sign_up(email="ada@example.com", password=PASSWORD)
    token = _token_of(await reset_link())
    assert (await _change(client, PASSWORD, NEW_PASSWORD)).status_code == 204
    async with live_app.client() as thief:
        assert (await _confirm(thief, token, "thief's choice")).status_code == 400


async def test_a_wrong_current_password_is_refused(
    client: httpx.AsyncClient, sign_up: SignUp, live_app: LiveApp
) -> None:
    await sign_up(email="ada@example.com", password=PASSWORD)
    response = await _change(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert await _log_in(live_app, "ada@example.com", PASSWORD) == 200


async def test_repeated_wrong_current_passwords_are_rate_limited(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com", password=PASSWORD)
    statuses = [(await _change(client, f"guess {n}", NEW_PASSWORD)).status_code for n in range(11)]
    assert statuses == [403] * 10 + [429]


async def test_a_weak_new_password_is_refused(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up(email="ada@example.com", password=PASSWORD)
    response = await _change(client, PASSWORD, "short")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_password"


async def test_changing_the_password_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await _change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def _sign_in_with_google(client: httpx.AsyncClient) -> None:
    start = await client.get("/auth/google")
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient(timeout=15) as browser:
        approved = await browser.get(start.headers["location"])
    assert approved.status_code == 302, approved.text
    callback = await client.get(approved.headers["location"])
    assert callback.headers["location"] == "/dashboard"


async def test_a_google_account_without_a_password_is_pointed_to_the_reset_flow(
    client: httpx.AsyncClient, oidc_provider: LocalOIDCProvider
) -> None:
    oidc_provider.reset()
    oidc_provider.next_identity(sub="google-grace", email="grace@example.com")
    await _sign_in_with_google(client)
    response = await _change(client, "anything at all", NEW_PASSWORD)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "no_password"
    assert "Forgot password?" in error["message"]


# --- Verifying the e-mail address -------------------------------------------------------------


@pytest.fixture
def verify_link(
    client: httpx.AsyncClient, mailbox: Mailbox, deliver_mail: DeliverMail
) -> LinkFromMail:
    """Ask for a verification e-mail for `client`'s user and return its link."""

    async def ask(email: str = "ada@example.com") -> str:
        response = await client.post("/api/me/verify-email")
        assert response.status_code == 202, response.text
        assert response.json() == {"sent": True}
        await deliver_mail()
        return _link_in(await _mail_to(mailbox, email, "Confirm"), "/verify-email")

    return ask


async def _verify(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/api/auth/verify-email", json={"token": token})


async def test_verification_link_marks_the_address_verified(
    live_app: LiveApp, client: httpx.AsyncClient, sign_up: SignUp, verify_link: LinkFromMail
) -> None:
    await sign_up(email="ada@example.com")
    link = await verify_link()
    assert link.startswith(f"{live_app.url}/verify-email?token=")
    async with live_app.client() as phone:  # opened on another device, not signed in
        response = await _verify(phone, _token_of(link))
    assert response.status_code == 200, response.text
    assert response.json() == {"email": "ada@example.com", "email_verified": True}
    me = await client.get("/api/me")
    assert me.json()["user"]["email_verified"] is True
    again = await client.post("/api/me/verify-email")
    assert (again.status_code, again.json()) == (202, {"sent": False})


async def test_opening_the_verification_link_alone_changes_nothing(
    client: httpx.AsyncClient, sign_up: SignUp, verify_link: LinkFromMail, live_app: LiveApp
) -> None:
    await sign_up(email="ada@example.com")
    link = await verify_link()
    async with httpx.AsyncClient(timeout=15) as scanner:  # a mail scanner prefetching links
        page = await scanner.get(link)
    assert page.status_code == 200
    me = await client.get("/api/me")
    assert me.json()["user"]["email_verified"] is False
    assert (await _verify(client, _token_of(link))).status_code == 200


async def test_verification_link_works_only_once_and_not_after_expiry(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    verify_link: LinkFromMail,
    db: asyncpg.Connection,
    mailbox: Mailbox,
) -> None:
    await sign_up(email="ada@example.com")
    first = _token_of(await verify_link())
    mailbox.messages.clear()
    second = _token_of(await verify_link())
    await db.execute(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
        hashlib.sha256(second.encode()).digest(),
    )
    expired = await _verify(client, second)
    assert (expired.status_code, expired.json()["error"]["code"]) == (400, "invalid_token")
    assert (await _verify(client, first)).status_code == 200
    used = await _verify(client, first)
    assert (used.status_code, used.json()["error"]["code"]) == (400, "invalid_token")


async def test_asking_for_verification_needs_a_session_and_is_rate_limited(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    assert (await client.post("/api/me/verify-email")).status_code == 401
    await sign_up(email="ada@example.com")
    statuses = [(await client.post("/api/me/verify-email")).status_code for _ in range(6)]
    assert statuses == [202] * 5 + [429]


async def test_a_verified_google_address_counts_as_verified(
    client: httpx.AsyncClient, oidc_provider: LocalOIDCProvider, sign_up: SignUp, live_app: LiveApp
) -> None:
    await sign_up(email="grace@example.com")
    oidc_provider.reset()
    oidc_provider.next_identity(sub="google-grace", email="grace@example.com", email_verified=True)
    async with live_app.client() as browser:
        await _sign_in_with_google(browser)
        me = await browser.get("/api/me")
    assert me.json()["user"]["email_verified"] is True


# --- The published description ----------------------------------------------------------------


async def test_openapi_lists_the_recovery_routes_and_their_error_statuses(
    client: httpx.AsyncClient,
) -> None:
    paths: dict[str, Any] = (await client.get("/openapi.json")).json()["paths"]
    expected = {
        "/api/auth/password-reset": {"202", "422", "429"},
        "/api/auth/password-reset/confirm": {"200", "400", "422"},
        "/api/me/password": {"401", "403", "422", "429"},
        "/api/me/verify-email": {"202", "401", "429"},
        "/api/auth/verify-email": {"200", "400"},
    }
    for path, statuses in expected.items():
        operation = paths[path]["post"]
        assert operation["description"] or operation["summary"], path
        assert statuses <= set(operation["responses"]), (path, operation["responses"].keys())
