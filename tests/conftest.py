"""The shared test harness: real PostgreSQL, Redis, SMTP and HTTP, with local stand-ins only for
services on the internet (Google's OpenID provider, Stripe).

One event loop serves the whole run, so the app under test, the stand-ins and the test clients
all live in it. Each run gets a fresh database (dropped at the end) and a Redis database index
of its own (TEST_REDIS_DB); both are emptied before every test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from quart import Quart
from redis.asyncio import Redis

from jobs.context import JobContext
from server.app import create_app
from server.infra.config import Config, RateLimit
from server.infra.embedded import embedded_database_url, embedded_redis_url
from server.infra.migrations import migrate
from tests.support.booking import create_service
from tests.support.oidc_provider import LocalOIDCProvider
from tests.support.serving import RunningServer, free_port, start_asgi
from tests.support.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn
from tests.support.stripe_webhooks import enable_online_payments

EMBEDDED_TEST_DIR = Path(__file__).resolve().parent.parent / ".appointly-test"


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin_database_url() -> str:
    """A server to create the run's database on: DATABASE_URL, else the embedded one."""
    return os.environ.get("DATABASE_URL") or embedded_database_url(EMBEDDED_TEST_DIR)


def with_database(dsn: str, name: str) -> str:
    """The same server DSN pointing at database `name`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
async def database_url(admin_database_url: str) -> AsyncIterator[str]:
    name = f"appointly_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_database_url, name)
    try:
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def empty_database_url(admin_database_url: str) -> AsyncIterator[str]:
    """A brand-new empty database of its own on the test server, dropped afterwards."""
    name = f"appointly_empty_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def db_pool(database_url: str) -> AsyncIterator[Any]:
    from server.infra.db import create_pool

    pool = await create_pool(database_url, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture
async def db(db_pool: Any) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the run's database, for arranging and checking state directly."""
    async with db_pool.acquire() as conn:
        yield conn


async def _empty_tables(pool: Any) -> None:
    tables = await pool.fetch(
        """
        SELECT tablename
          FROM pg_tables
         WHERE schemaname = 'public'
           AND tablename <> 'schema_migrations'
        """
    )
    if tables:
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await pool.execute(f"TRUNCATE {names} CASCADE")


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    base = os.environ.get("REDIS_URL")
    if not base:
        return embedded_redis_url(EMBEDDED_TEST_DIR)
    # A database index of the run's own, so flushing it between tests touches nothing else.
    index = os.environ.get("TEST_REDIS_DB", "9")
    return with_database(base, index)


@pytest.fixture(scope="session")
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


# --- SMTP -------------------------------------------------------------------------------------


class Mailbox:
    """Every message the app sends, as received by a real SMTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = asyncio.Condition()
        self._loop = asyncio.get_running_loop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=default_policy).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        asyncio.run_coroutine_threadsafe(self._add(message), self._loop)
        return "250 OK"

    async def _add(self, message: EmailMessage) -> None:
        async with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    async def wait_for(
        self, predicate: Callable[[EmailMessage], bool], timeout: float = 10
    ) -> EmailMessage:
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                await self._arrived.wait()


@pytest.fixture(scope="session")
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    box = smtp_server[0]
    box.messages.clear()
    return box


# --- Stand-ins for internet services ----------------------------------------------------------


@pytest.fixture(scope="session")
async def oidc_provider() -> AsyncIterator[LocalOIDCProvider]:
    provider = LocalOIDCProvider()
    await provider.start()
    yield provider
    await provider.stop()


@pytest.fixture(scope="session")
async def stripe_stand_in() -> AsyncIterator[StripeStandIn]:
    stand_in = StripeStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


# --- The app under test -----------------------------------------------------------------------


@dataclass
class LiveApp:
    """Appointly served by Hypercorn on a real port."""

    url: str
    app: Quart
    config: Config
    server: RunningServer

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=15, **kwargs)


UNREACHED_LIMIT = RateLimit(1_000_000, 60)


def _test_config(
    *,
    port: int,
    database_url: str,
    redis_url: str,
    smtp_port: int,
    oidc: LocalOIDCProvider,
    stripe: StripeStandIn,
) -> Config:
    return Config(
        database_url=database_url,
        redis_url=redis_url,
        app_env="test",
        secret_key="test-secret-key",
        base_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        google_client_id=oidc.client_id,
        google_client_secret=oidc.client_secret,
        google_discovery_url=oidc.discovery_url,
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe.url,
        # Every test client comes from 127.0.0.1: limits the suite never reaches (tests that are
        # about a limit set their own; test_client_limits.py checks the real defaults).
        booking_rate_limit=UNREACHED_LIMIT,
        signup_rate_limit=UNREACHED_LIMIT,
        websocket_rate_limit=UNREACHED_LIMIT,
    )


StartApp = Callable[..., Awaitable[LiveApp]]


@pytest.fixture(scope="session")
async def start_app(
    database_url: str,
    redis_url: str,
    smtp_server: tuple[Mailbox, int],
    oidc_provider: LocalOIDCProvider,
    stripe_stand_in: StripeStandIn,
) -> AsyncIterator[StartApp]:
    """Start another Appointly server; keyword arguments change its Config (e.g. no Stripe)."""
    started: list[LiveApp] = []

    async def start(**changes: Any) -> LiveApp:
        port = free_port()
        config = _test_config(
            port=port,
            database_url=database_url,
            redis_url=redis_url,
            smtp_port=smtp_server[1],
            oidc=oidc_provider,
            stripe=stripe_stand_in,
        ).with_changes(**changes)
        app = create_app(config)
        server = await start_asgi(app, port)
        live = LiveApp(url=server.url, app=app, config=config, server=server)
        started.append(live)
        return live

    yield start
    for live in reversed(started):
        await live.server.stop()


@pytest.fixture(scope="session")
async def live_app(start_app: StartApp) -> LiveApp:
    """The main server: Google, Stripe and SMTP all configured against local stand-ins."""
    return await start_app()


@pytest.fixture(autouse=True)
async def clean_state(db_pool: Any, redis_client: Redis) -> None:
    """Every test starts with empty tables and an empty Redis database."""
    await _empty_tables(db_pool)
    await redis_client.flushdb()


@pytest.fixture
async def client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with its own cookie jar, like one browser."""
    async with live_app.client() as http:
        yield http


SignUp = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def sign_up(client: httpx.AsyncClient) -> SignUp:
    """Sign `client` up (and so in) as a new user; returns the User JSON."""

    async def sign_up_as(
        email: str = "ada@example.com", password: str = "correct horse", name: str = "Ada"
    ) -> dict[str, Any]:
        response = await client.post(
            "/api/auth/signup", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()["user"]
        return user

    return sign_up_as


BecomeProvider = Callable[..., Awaitable[dict[str, Any]]]


async def make_provider(
    http: httpx.AsyncClient,
    *,
    business_name: str = "Ada's Clinic",
    timezone: str = "Europe/London",
    email: str = "ada@example.com",
    name: str = "Ada",
) -> dict[str, Any]:
    """Sign `http` up as a new user on its server and make it a provider; the Provider JSON."""
    signup = await http.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse", "name": name}
    )
    assert signup.status_code == 201, signup.text
    response = await http.post(
        "/api/providers", json={"business_name": business_name, "timezone": timezone}
    )
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()["provider"]
    return provider


@pytest.fixture
def become_provider(client: httpx.AsyncClient) -> BecomeProvider:
    """Sign `client` up as a new user and make it a provider; returns the Provider JSON."""

    async def become(**details: Any) -> dict[str, Any]:
        return await make_provider(client, **details)

    return become


# --- What booking and payment tests start from --------------------------------------------------


@pytest.fixture
async def service(client: httpx.AsyncClient, become_provider: BecomeProvider) -> dict[str, Any]:
    """A free service of a provider signed in on `client`, open 09:00-17:00 every day."""
    await become_provider()
    return await create_service(client)


@pytest.fixture
async def guest(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor who is signed in as nobody: a second browser beside `client`."""
    async with live_app.client() as http:
        yield http


@pytest.fixture
def fresh_stand_in(stripe_stand_in: StripeStandIn) -> StripeStandIn:
    """The Stripe stand-in with nothing left from earlier tests (payment modules use it for
    every test: `pytestmark = pytest.mark.usefixtures("fresh_stand_in")`)."""
    stripe_stand_in.reset()
    return stripe_stand_in


@pytest.fixture
async def paid_service(
    client: httpx.AsyncClient, become_provider: BecomeProvider, stripe_stand_in: StripeStandIn
) -> dict[str, Any]:
    """A £30 service of a provider signed in on `client` whose Stripe account takes charges."""
    await become_provider()
    await enable_online_payments(client, stripe_stand_in)
    return await create_service(client, price_cents=3000, currency="GBP")


@pytest.fixture
def job_ctx(live_app: LiveApp, db_pool: Any, redis_client: Redis) -> JobContext:
    """What the worker gives a job, pointing at the test database, Redis and Stripe stand-in."""
    return {"config": live_app.config, "pool": db_pool, "app_redis": redis_client}
