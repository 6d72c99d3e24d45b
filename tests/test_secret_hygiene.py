"""Secrets in links stay out of places they do not belong: other sites' logs (Referer), our
database once they have done their job (purge_expired), and our own log in production."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from jobs.worker import worker_settings
from server.infra.config import Config, ConfigError, load_config
from server.notifications.mailer import Mailer
from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.cli_process import appointly_env, assert_no_traceback, run_appointly

# --- Referer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/bookings/{uuid4()}?key=manage-key",
        f"/waitlist/{uuid4()}?key=manage-key",  # by path, whether or not the page exists yet
        "/reset-password?token=reset-token",
        "/verify-email?token=verify-token",
    ],
)
async def test_pages_whose_url_carries_a_secret_send_no_referrer(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/services", "/bookings", "/login"])
async def test_other_pages_keep_the_usual_referrer_policy(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_a_booking_opened_from_its_manage_link_sends_no_referrer(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    await make_provider(client)
    service = await create_service(client)
    async with live_app.client() as guest:
        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        manage_url = (await book(guest, slot["id"])).json()["manage_url"]
        page = await guest.get(manage_url.removeprefix(live_app.url))

    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"


# --- purge_expired ----------------------------------------------------------------------------


async def _booking(guest: httpx.AsyncClient, slot: dict[str, Any], key: str) -> str:
    response = await book(guest, slot["id"], headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    appointment_id: str = response.json()["appointment"]["id"]
    return appointment_id


async def _body(db: asyncpg.Connection, kind: str, appointment_id: str | None = None) -> Any:
    return await db.fetchrow(
        """
        SELECT body_text, body_html
          FROM outbox
         WHERE kind = $1
           AND ($2::uuid IS NULL OR appointment_id = $2::uuid)
        """,
        kind,
        appointment_id,
    )


@pytest.mark.slow
async def test_purge_expired_forgets_old_idempotency_records_and_sent_secret_links(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    database_url: str,
    redis_url: str,
) -> None:
    await make_provider(client)
    service = await create_service(client)
    assert (await client.post("/api/me/verify-email")).status_code == 202
    async with live_app.client() as guest:
        first, second = (await free_slots(guest, service["id"], tomorrow()))[:2]
        sent = await _booking(guest, first, "key-from-yesterday")
        pending = await _booking(guest, second, "key-from-today")
        reset = await guest.post("/api/auth/password-reset", json={"email": "ada@example.com"})
        assert reset.status_code == 202
    await db.execute(
        """
        UPDATE idempotency_keys
           SET created_at = now() - interval '25 hours'
         WHERE key = 'key-from-yesterday'
        """
    )
    await db.execute(
        """
        UPDATE outbox
           SET status = 'sent', sent_at = now()
         WHERE appointment_id = $1::uuid
            OR kind = 'password_reset'
        """,
        sent,
    )
    await db.execute("UPDATE outbox SET status = 'failed' WHERE kind = 'verify_email'")
    pending_before = await _body(db, "booking_received", pending)
    provider_mail_before = await _body(db, "booking_new", sent)

    env = appointly_env(DATABASE_URL=database_url, REDIS_URL=redis_url)
    finished = await run_appointly("run-job", "purge_expired", env=env)

    assert finished.status == 0, finished.stderr
    assert_no_traceback(finished.stderr)
    keys = await db.fetch("SELECT key FROM idempotency_keys")
    assert [row["key"] for row in keys] == ["key-from-today"]
    for cleared in (
        await _body(db, "booking_received", sent),
        await _body(db, "password_reset"),
        await _body(db, "verify_email"),
    ):
        assert (cleared["body_text"], cleared["body_html"]) == ("", None)
    # Not sent yet, or never carrying a secret: untouched.
    assert await _body(db, "booking_received", pending) == pending_before
    assert "key=" in pending_before["body_text"]
    assert await _body(db, "booking_new", sent) == provider_mail_before
    assert finished.stdout.strip() == "purge_expired: 4"


def test_the_worker_purges_every_hour(live_app: LiveApp) -> None:
    settings: Any = worker_settings(live_app.config)
    purges = [job for job in settings.cron_jobs if job.name == "cron:purge_expired"]

    assert len(purges) == 1
    assert purges[0].minute is not None and purges[0].hour is None


# --- No mail in the log in production ---------------------------------------------------------


def test_production_without_smtp_host_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        load_config({"APP_ENV": "production", "SECRET_KEY": "long-random-value"})

    config = load_config(
        {"APP_ENV": "production", "SECRET_KEY": "long-random-value", "SMTP_HOST": "mail"}
    )
    assert config.smtp_enabled


async def test_production_without_smtp_host_does_not_start(database_url: str) -> None:
    env = appointly_env(DATABASE_URL=database_url, APP_ENV="production", SECRET_KEY="k" * 40)

    finished = await run_appointly("migrate", env=env)

    assert finished.status == 2
    assert "SMTP_HOST" in finished.stderr
    assert_no_traceback(finished.stderr)


async def test_a_production_mailer_without_smtp_never_logs_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = EmailMessage()
    message["To"] = "ada@example.com"
    message["Subject"] = "Reset your password"
    message.set_content("https://appointly.example/reset-password?token=the-secret-token")
    config = Config(app_env="production", smtp_host=None)

    with caplog.at_level(logging.DEBUG):
        async with Mailer(config) as mailer:
            await mailer.send(message)

    assert "ada@example.com" in caplog.text
    assert "the-secret-token" not in caplog.text
