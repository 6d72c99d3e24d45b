"""The operator's /admin view: only for the verified addresses in APPOINTLY_ADMIN_EMAILS; it
shows the outbox backlog and what failed (messages, refunds, webhook deliveries, calendar
syncs) from the real tables, never a secret, and "retry" really sends a failed message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from jobs.busy_calendars import sync_due_calendars
from jobs.purge import purge_expired
from jobs.webhooks import deliver_webhooks
from server.infra.config import ConfigError, load_config
from server.notifications.delivery import MAX_ATTEMPTS, deliver_due
from server.routes.admin import Overview, RetriedMessage
from server.usecases.admin_redaction import redact_urls, url_origin
from tests.conftest import LiveApp, Mailbox, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.serving import free_port

OPERATOR = "ops@example.com"
PASSWORD = "correct horse"


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def admin_app(start_app: StartApp) -> LiveApp:
    """A server whose operator is ops@example.com (the main test server has none)."""
    return await start_app(admin_emails=frozenset({OPERATOR}))


async def deliver_mail(live: LiveApp, **changes: Any) -> int:
    """The worker's outbox delivery, once; `changes` alter its config (a dead SMTP server)."""
    state = live.app.extensions["appointly"]
    return await deliver_due(state.pool, live.config.with_changes(**changes))


async def verify_address(live: LiveApp, http: httpx.AsyncClient, mailbox: Mailbox) -> None:
    """Prove the signed-in user's address with the link the verification e-mail carries."""
    address = (await http.get("/api/me")).json()["user"]["email"]
    assert (await http.post("/api/me/verify-email")).status_code == 202
    await deliver_mail(live)
    message = await mailbox.wait_for(lambda m: m["To"] == address and "Confirm" in m["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(r"\S+/verify-email\?token=\S+", str(body.get_content()))
    assert link is not None
    token = parse_qs(urlsplit(link[0]).query)["token"][0]
    response = await http.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 200, response.text


async def sign_up(http: httpx.AsyncClient, email: str) -> None:
    response = await http.post(
        "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Someone"}
    )
    assert response.status_code == 201, response.text


@pytest.fixture
async def operator(admin_app: LiveApp, mailbox: Mailbox) -> AsyncIterator[httpx.AsyncClient]:
    """The operator, signed in with a verified address written in another case."""
    async with admin_app.client() as http:
        await sign_up(http, "Ops@Example.COM")
        await verify_address(admin_app, http, mailbox)
        mailbox.messages.clear()
        yield http


@pytest.fixture
async def clinic(admin_app: LiveApp) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """A provider (signed in) with a free service."""
    async with admin_app.client() as http:
        await make_provider(http, business_name="Ada's Clinic")
        yield http, await create_service(http)


async def book_as_guest(live: LiveApp, service: dict[str, Any]) -> dict[str, Any]:
    async with live.client() as guest:
        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        response = await book(guest, slot["id"])
    assert response.status_code == 201, response.text
    booked: dict[str, Any] = response.json()
    return booked


async def overview_of(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/api/admin/overview")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    Overview.model_validate(body)  # exactly the fields /openapi.json documents
    return body


# --- Who may look -------------------------------------------------------------------------------


async def test_signed_out_visitors_are_sent_to_sign_in_and_the_api_says_401(
    admin_app: LiveApp,
) -> None:
    async with admin_app.client() as http:
        page = await http.get("/admin")
        assert (page.status_code, page.headers["location"]) == (302, "/login?next=/admin")
        overview = await http.get("/api/admin/overview")
        assert overview.status_code == 401
        retry = await http.post(f"/api/admin/messages/{_some_uuid()}/retry")
        assert (retry.status_code, retry.json()["error"]["code"]) == (401, "unauthenticated")


async def test_a_listed_address_counts_only_once_it_is_verified(
    admin_app: LiveApp, mailbox: Mailbox
) -> None:
    async with admin_app.client() as squatter:
        # Anyone can sign up with an address they do not own: that alone opens nothing.
        await sign_up(squatter, "OPS@example.com")
        assert (await squatter.get("/admin")).status_code == 404
        unverified = await squatter.get("/api/admin/overview")
        assert (unverified.status_code, unverified.json()["error"]["code"]) == (404, "not_found")
        await verify_address(admin_app, squatter, mailbox)
        assert (await squatter.get("/api/admin/overview")).status_code == 200
        page = await squatter.get("/admin")
        assert page.status_code == 200
        assert "Outbox backlog" in page.text


async def test_everyone_else_gets_404_as_if_there_were_no_admin(
    admin_app: LiveApp, live_app: LiveApp, mailbox: Mailbox
) -> None:
    async with admin_app.client() as customer:
        await sign_up(customer, "grace@example.com")
        await verify_address(admin_app, customer, mailbox)
        assert (await customer.get("/admin")).status_code == 404
        assert (await customer.get("/api/admin/overview")).status_code == 404
        retry = await customer.post(f"/api/admin/messages/{_some_uuid()}/retry")
        assert retry.status_code == 404
    # With no APPOINTLY_ADMIN_EMAILS at all, nobody is an operator.
    async with live_app.client() as http:
        await sign_up(http, OPERATOR)
        await verify_address(live_app, http, mailbox)
        assert (await http.get("/api/admin/overview")).status_code == 404


async def test_a_retry_from_another_site_is_refused(
    admin_app: LiveApp, operator: httpx.AsyncClient
) -> None:
    response = await operator.post(
        f"/api/admin/messages/{_some_uuid()}/retry", headers={"Origin": "https://evil.example"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "csrf_failed")


def test_admin_emails_are_read_case_insensitively_and_checked() -> None:
    config = load_config({"APPOINTLY_ADMIN_EMAILS": " Ops@Example.com, root@host.io ,"})
    assert config.admin_emails == frozenset({"ops@example.com", "root@host.io"})
    assert load_config({}).admin_emails == frozenset()
    with pytest.raises(ConfigError, match="APPOINTLY_ADMIN_EMAILS"):
        load_config({"APPOINTLY_ADMIN_EMAILS": "ops@example.com, not an address"})


# --- What it shows ------------------------------------------------------------------------------


async def test_the_backlog_counts_waiting_messages_by_kind(
    admin_app: LiveApp, operator: httpx.AsyncClient, clinic: Any
) -> None:
    _, service = clinic
    assert (await overview_of(operator))["outbox"] == {
        "pending_total": 0,
        "oldest_due_age_seconds": None,
        "by_kind": [],
    }
    await book_as_guest(admin_app, service)
    await book_as_guest(admin_app, service)

    outbox = (await overview_of(operator))["outbox"]
    assert outbox["pending_total"] == 4
    by_kind = {row["kind"]: row for row in outbox["by_kind"]}
    assert {kind: row["pending"] for kind, row in by_kind.items()} == {
        "booking_received": 2,
        "booking_new": 2,
    }
    assert all(row["held"] == 0 and row["retrying"] == 0 for row in by_kind.values())
    assert outbox["oldest_due_age_seconds"] >= 0

    assert await deliver_mail(admin_app) == 4
    assert (await overview_of(operator))["outbox"]["pending_total"] == 0


async def test_a_stuck_email_is_listed_without_its_body_and_retry_sends_it(
    admin_app: LiveApp,
    operator: httpx.AsyncClient,
    clinic: Any,
    mailbox: Mailbox,
    db: asyncpg.Connection,
    job_ctx: dict[str, Any],
) -> None:
    _, service = clinic
    booked = await book_as_guest(admin_app, service)
    manage_key = parse_qs(urlsplit(booked["manage_url"]).query)["key"][0]
    # The mail server is down for every one of the worker's attempts (hours apart).
    dead_smtp = free_port()
    moment = datetime.now(UTC)
    pool = admin_app.app.extensions["appointly"].pool
    for _ in range(MAX_ATTEMPTS):
        await deliver_due(pool, admin_app.config.with_changes(smtp_port=dead_smtp), now=moment)
        moment += timedelta(hours=1)
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'") == 2

    overview = await operator.get("/api/admin/overview")
    Overview.model_validate(overview.json())
    failed = overview.json()["failed_messages"]
    assert failed["total"] == 2
    by_kind = {item["kind"]: item for item in failed["items"]}
    assert set(by_kind) == {"booking_received", "booking_new"}
    assert by_kind["booking_new"]["attempts"] == MAX_ATTEMPTS
    assert by_kind["booking_new"]["last_error"]
    assert by_kind["booking_received"]["recipient"] == booked["appointment"]["customer_email"]
    page = await operator.get("/admin")
    for answer in (overview, page):
        assert manage_key not in answer.text  # the customer's body holds the manage link
        assert "body_text" not in answer.text
    assert page.text.count("data-retry-message=") == 2

    # The hourly purge empties the body that carried the manage link: nothing left to resend.
    await purge_expired(job_ctx)
    customer_mail = by_kind["booking_received"]["id"]
    purged = await operator.post(f"/api/admin/messages/{customer_mail}/retry")
    assert (purged.status_code, purged.json()["error"]["code"]) == (409, "message_body_purged")
    page = await operator.get("/admin")
    assert page.text.count("data-retry-message=") == 1
    assert "must ask for a new one" in page.text

    provider_mail = by_kind["booking_new"]["id"]
    retried = await operator.post(f"/api/admin/messages/{provider_mail}/retry")
    assert retried.status_code == 200, retried.text
    RetriedMessage.model_validate(retried.json())
    assert retried.json()["message"]["status"] == "pending"
    assert retried.json()["message"]["attempts"] == 0
    again = await operator.post(f"/api/admin/messages/{provider_mail}/retry")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "message_not_failed")

    assert await deliver_mail(admin_app) == 1
    received = await mailbox.wait_for(lambda m: m["To"] == "ada@example.com")
    assert str(received["Subject"]).strip().startswith("New booking")
    after = (await overview_of(operator))["failed_messages"]
    assert [item["kind"] for item in after["items"]] == ["booking_received"]


async def test_retrying_an_unknown_message_is_404(operator: httpx.AsyncClient) -> None:
    response = await operator.post(f"/api/admin/messages/{_some_uuid()}/retry")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "message_not_found")
    assert (await operator.post("/api/admin/messages/not-a-uuid/retry")).status_code == 404


async def test_webhook_calendar_and_refund_failures_show_origins_never_secret_paths(
    admin_app: LiveApp,
    operator: httpx.AsyncClient,
    clinic: Any,
    db: asyncpg.Connection,
    job_ctx: dict[str, Any],
) -> None:
    provider, service = clinic
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    feed = f"{nobody}/private-feed-token-123/basic.ics"
    hook = f"{nobody}/hooks/secret-hook-token-456"
    saved = await provider.put("/api/providers/me/busy-calendars", json={"urls": [feed]})
    assert saved.status_code == 200, saved.text
    created = await provider.post(
        "/api/providers/me/webhooks", json={"url": hook, "events": ["booking.created"]}
    )
    assert created.status_code == 201, created.text
    webhook_secret = created.json()["webhook"]["secret"]
    booked = await book_as_guest(admin_app, service)
    await sync_due_calendars(job_ctx)
    await deliver_webhooks(job_ctx)
    # What no API can make fail here without Stripe or a CalDAV server going wrong for real:
    # a refund the worker gave up on, and a CalDAV account whose last sync failed.
    await db.execute(
        """
        INSERT INTO refunds (appointment_id, payment_intent_id, status, attempts, last_error,
                             next_attempt_at)
        VALUES ($1::uuid, 'pi_test_123', 'failed', 10, 'card_declined: expired card', NULL)
        """,
        booked["appointment"]["id"],
    )
    await db.execute(
        """
        INSERT INTO caldav_accounts (provider_id, url, username, password_encrypted, last_error)
        SELECT p.id, 'https://dav.example.com/cal/secret-cal-789/', 'ada', 'sealed-password',
               'PROPFIND https://dav.example.com/cal/secret-cal-789/ answered 401'
          FROM providers AS p
        """
    )

    response = await operator.get("/api/admin/overview")
    body = response.json()
    Overview.model_validate(body)
    [delivery] = body["webhook_failures"]
    assert (delivery["event"], delivery["status"], delivery["url_origin"]) == (
        "booking.created",
        "pending",
        nobody,
    )
    assert delivery["attempts"] == 1 and delivery["next_attempt_at"] is not None
    [refund] = body["failed_refunds"]
    assert (refund["business_name"], refund["next_attempt_at"]) == ("Ada's Clinic", None)
    assert refund["last_error"] == "card_declined: expired card"
    assert refund["payment_intent_id"] == "pi_test_123"  # to find it in Stripe's dashboard
    errors = {item["kind"]: item for item in body["calendar_errors"]}
    assert set(errors) == {"busy_feed", "caldav_pull"}
    assert errors["busy_feed"]["url_origin"] == nobody
    assert errors["busy_feed"]["last_error"]
    assert errors["caldav_pull"]["last_error"] == ("PROPFIND https://dav.example.com answered 401")
    page = await operator.get("/admin")
    assert "Ada&#39;s Clinic" in page.text or "Ada's Clinic" in page.text
    for answer in (response, page):
        for secret in ("private-feed-token-123", "secret-hook-token-456", "secret-cal-789"):
            assert secret not in answer.text
        for secret in (webhook_secret, "sealed-password"):
            assert secret not in answer.text


# --- Pure helpers -------------------------------------------------------------------------------


def test_a_url_is_cut_to_its_origin_credentials_and_path_dropped() -> None:
    assert url_origin("https://user:pw@cal.example.com:8443/a/b?token=x") == (
        "https://cal.example.com:8443"
    )
    assert url_origin("webcal://cal.example.com/private") == "webcal://cal.example.com"
    assert url_origin("no url") == "(not a URL)"
    assert url_origin("http://[::1]:8080/x") == "http://[::1]:8080"
    assert url_origin("http://h.example:port/x") == "http://h.example"
    assert redact_urls("GET http://h.example/x/y?k=1 failed: 404") == (
        "GET http://h.example failed: 404"
    )
    assert redact_urls(None) is None


def _some_uuid() -> str:
    return "0b7f8f43-6e53-4a4b-8c43-2f1f0f2b6a11"
