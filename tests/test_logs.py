"""Logs an operator can use: a request id on every answer and log line, JSON lines on demand,
and never a secret in any line."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from quart import Quart

from jobs.notifications import deliver_outbox
from server.app import create_app
from server.edge.request_context import RequestContext
from server.infra.config import ConfigError, load_config
from server.infra.logs import JsonFormatter, formatter_for, prepare_logging
from server.webhooks.delivery import deliver_webhooks_due
from tests.conftest import LiveApp, Mailbox, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, manage_key, tomorrow
from tests.support.cli_process import appointly_env, start_appointly
from tests.support.serving import RunningServer, start_asgi
from tests.support.stripe_stub import SECRET_KEY, WEBHOOK_SECRET
from tests.support.waitlist import a_day_ahead, fill_day, join, small_service
from tests.support.webhook_receiver import WebhookReceiver

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
# The test's own SMTP server (aiosmtpd) logs what it receives; it is not part of Appointly.
STAND_IN_LOGGERS = ("mail.log",)


# --- X-Request-ID -------------------------------------------------------------------------------


async def test_every_answer_carries_a_new_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/no-such-page")

    assert GENERATED_ID.fullmatch(first.headers["x-request-id"])
    assert GENERATED_ID.fullmatch(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_request_id_sent_by_an_untrusted_client_is_replaced(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "chosen-by-the-client"})

    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


@pytest.fixture(scope="module")
async def behind_proxy(start_app: StartApp) -> LiveApp:
    """A server that trusts 127.0.0.1 as its proxy (every test client connects from there)."""
    return await start_app(forwarded_allow_ips=(ip_network("127.0.0.1/32"),))


async def test_a_trusted_proxys_request_id_is_kept(behind_proxy: LiveApp) -> None:
    async with behind_proxy.client() as http:
        response = await http.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42.1"})

    assert response.headers["x-request-id"] == "lb-7f3a:42.1"


@pytest.mark.parametrize("sent", ["has spaces", "x" * 129, "new\\nline", "é"])
async def test_a_malformed_request_id_from_the_proxy_is_replaced(
    behind_proxy: LiveApp, sent: str
) -> None:
    async with behind_proxy.client() as http:
        response = await http.get("/healthz", headers={"X-Request-ID": sent.encode()})

    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_the_access_line_names_the_route_template_status_and_request_id(
    client: httpx.AsyncClient, service: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="appointly.access"):
        response = await client.get(f"/api/services/{service['id']}")

    request_id = response.headers["x-request-id"]
    [line] = [record for record in caplog.records if record.request_id == request_id]
    assert line.name == "appointly.access"
    assert line.route == "/api/services/<service_id>"  # type: ignore[attr-defined]
    assert line.status == 200  # type: ignore[attr-defined]
    assert service["id"] not in line.getMessage()


# --- 5xx ----------------------------------------------------------------------------------------


@pytest.fixture
async def failing_app(live_app: LiveApp) -> AsyncIterator[RunningServer]:
    """The app with one more route that fails with an unexpected error."""
    app: Quart = create_app(live_app.config)

    @app.get("/api/test-only/fails")
    async def fails() -> None:
        raise RuntimeError("a bug")

    @app.get("/test-only/page-fails")
    async def page_fails() -> None:
        raise RuntimeError("a bug on a page")

    server = await start_asgi(app)
    yield server
    await server.stop()


async def test_a_500_body_and_its_log_line_carry_the_request_id(
    failing_app: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with httpx.AsyncClient(base_url=failing_app.url) as http:
        with caplog.at_level(logging.INFO):
            response = await http.get("/api/test-only/fails")

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["error"]["request_id"] == request_id
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.request_id for record in errors] == [request_id]
    assert "GET /api/test-only/fails" in errors[0].getMessage()


async def test_a_500_page_quotes_the_request_id(failing_app: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=failing_app.url) as http:
        response = await http.get("/test-only/page-fails", headers={"Accept": "text/html"})

    assert response.status_code == 500
    assert f"<code>{response.headers['x-request-id']}</code>" in response.text


async def test_a_4xx_body_has_no_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/services/not-a-uuid")

    assert response.status_code == 404
    assert "request_id" not in response.json()["error"]


# --- LOG_FORMAT=json ----------------------------------------------------------------------------


def test_a_json_line_is_one_object_with_the_request_fields() -> None:
    prepare_logging()
    record = logging.getLogger("appointly.access").makeRecord(
        "appointly.access",
        logging.INFO,
        __file__,
        1,
        '127.0.0.1 "GET /healthz" 200 1.0ms',
        (),
        None,
        extra={"route": "/healthz", "method": "GET", "status": 200, "duration": 0.001},
    )

    line = JsonFormatter().format(record)

    assert "\n" not in line
    assert orjson.loads(line) == {
        "time": orjson.loads(line)["time"],
        "level": "INFO",
        "logger": "appointly.access",
        "message": '127.0.0.1 "GET /healthz" 200 1.0ms',
        "request_id": None,
        "route": "/healthz",
        "method": "GET",
        "status": 200,
        "duration": 0.001,
    }


@pytest.mark.slow
async def test_a_server_with_log_format_json_writes_only_json_lines(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = appointly_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="test", LOG_FORMAT="json"
    )
    server = await start_appointly("serve", env=env, output=tmp_path / "serve.log")
    try:
        await server.wait_until_serving()
        async with server.client() as http:
            answered = await http.get("/healthz", params={"probe": "1"})
            missing = await http.get("/no/such/page")
    finally:
        await server.interrupt()

    lines = [orjson.loads(line) for line in server.log().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    access = {line["request_id"]: line for line in lines if line["logger"] == "appointly.access"}
    health = access[answered.headers["x-request-id"]]
    assert (health["route"], health["method"], health["status"]) == ("/healthz", "GET", 200)
    assert health["duration"] >= 0
    assert "probe" not in health["message"]  # no query string
    assert access[missing.headers["x-request-id"]]["route"] == "unmatched"
    assert any(line["logger"] == "hypercorn.error" for line in lines)  # Hypercorn's too


# --- No secret in any log line ------------------------------------------------------------------


def _link(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(rf"\S+{re.escape(path)}\?token=[\w-]+", body.get_content())
    assert found is not None
    return found.group(0)


def _query(url: str, name: str) -> str:
    value: str = parse_qs(urlsplit(url).query)[name][0]
    return value


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    started = await WebhookReceiver().start()
    yield started
    await started.stop()


async def test_no_secret_of_a_whole_booking_reset_waitlist_and_webhook_flow_reaches_the_log(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    mailbox: Mailbox,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = live_app.app.extensions["appointly"]
    secrets: dict[str, str] = {
        "password": "correct horse",
        "new password": "a brand new password",
        "stripe key": SECRET_KEY,
        "stripe webhook secret": WEBHOOK_SECRET,
    }
    with caplog.at_level(logging.DEBUG):
        await make_provider(client)
        service = await create_service(client)
        webhook = await client.post(
            "/api/providers/me/webhooks",
            json={"url": receiver.url, "events": ["booking.created"]},
        )
        secrets["webhook secret"] = webhook.json()["webhook"]["secret"]
        feed = (await client.get("/api/providers/me/calendar-feed")).json()["url"]
        secrets["calendar feed token"] = urlsplit(feed).path.rsplit("/", 1)[1].removesuffix(".ics")
        assert (await guest.get(_path(feed))).status_code == 200

        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        booked = (await book(guest, slot["id"])).json()
        secrets["manage key"] = manage_key(booked)
        assert (await guest.get(_path(booked["manage_url"]))).status_code == 200
        appointment = booked["appointment"]["id"]
        key = {"key": secrets["manage key"]}
        assert (await guest.get(f"/api/bookings/{appointment}", params=key)).status_code == 200
        await deliver_webhooks_due(state.pool, live_app.config)
        assert receiver.received

        day = a_day_ahead()
        full = await small_service(client, name="Full day")
        await fill_day(guest, full["id"], day)
        entry = await join(guest, full["id"], day, "waiting@example.com")
        secrets["waitlist key"] = entry.key
        assert (await guest.get(f"/waitlist/{entry.id}", params={"key": entry.key})).is_success
        assert (await guest.get(f"/api/waitlist/{entry.id}", params={"key": entry.key})).is_success

        await guest.post("/api/auth/password-reset", json={"email": "ada@example.com"})
        assert (await client.post("/api/me/verify-email")).status_code == 202
        await deliver_outbox({"config": live_app.config, "pool": state.pool})
        reset = _link(await mailbox.wait_for(lambda m: "Reset" in m["Subject"]), "/reset-password")
        verify = _link(await mailbox.wait_for(lambda m: "Confirm" in m["Subject"]), "/verify-email")
        secrets["reset token"] = _query(reset, "token")
        secrets["verify token"] = _query(verify, "token")
        assert (await guest.get(_path(reset))).status_code == 200
        assert (await client.get(_path(verify))).status_code == 200
        confirmed = await guest.post(
            "/api/auth/password-reset/confirm",
            json={"token": secrets["reset token"], "password": secrets["new password"]},
        )
        assert confirmed.status_code == 200, confirmed.text
        # A wrong guess at a secret path is logged without it too.
        assert (await guest.get("/calendar/guessed-feed-token.ics")).status_code == 404
        secrets["guessed token"] = "guessed-feed-token"

    assert len(caplog.records) > 20
    text, json = formatter_for("text"), formatter_for("json")
    written = "\n".join(
        f"{text.format(record)}\n{json.format(record)}"
        for record in caplog.records
        if not record.name.startswith(STAND_IN_LOGGERS)
    )
    leaked = {
        name: [line for line in written.splitlines() if value in line][:2]
        for name, value in secrets.items()
        if value in written
    }
    assert leaked == {}


async def _through_request_context(app: Any) -> None:
    scope = {"type": "http", "method": "GET", "path": "/gone", "headers": [], "client": None}

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError(f"nothing is sent: {message}")

    await RequestContext(app, ())(scope, receive, send)


async def test_a_request_the_client_gave_up_on_is_logged_499_and_a_crash_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def answers_nothing(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def crashes(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("crash")

    with caplog.at_level(logging.INFO, logger="appointly.access"):
        await _through_request_context(answers_nothing)
        with pytest.raises(RuntimeError):
            await _through_request_context(crashes)

    statuses = [record.status for record in caplog.records if record.name == "appointly.access"]
    assert statuses == [499, 500]


def test_log_format_and_metrics_token_are_read_and_checked() -> None:
    config = load_config({"LOG_FORMAT": "JSON", "METRICS_TOKEN": " scrape-me "})
    assert (config.log_format, config.metrics_token) == ("json", "scrape-me")
    assert "scrape-me" not in repr(config)
    assert load_config({}).log_format == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config({"LOG_FORMAT": "xml"})
