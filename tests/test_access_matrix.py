"""The access matrix: every route of the app, asked by each of six callers, answers the status
written here. Path variables always name provider A's things (A's service, customer A's booking
with A, A's time off...), so wherever B gets 404 no one can reach another's data by its id.

The callers: anonymous; customer A (who booked A's service while signed in) and customer B;
provider A and provider B (each with a service); and a key holder, anonymous but holding the
manage key of *another* booking with A, which it sends as `?key=` to every booking route.

It walks `app.url_map`, like tests/test_route_protection.py: a route added without a row here
fails `test_every_route_has_a_row_in_the_access_matrix`, whose message says what to add.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import LiveApp
from tests.support.booking import GUEST, create_service, free_slots, tomorrow
from tests.support.sockets import ws_url

pytestmark = pytest.mark.slow

ACTORS = ("anonymous", "customer_a", "customer_b", "provider_a", "provider_b", "key_holder")
PASSWORD = "correct horse"
WEBSOCKET = "WS"
# The socket stayed open and delivered (a snapshot, or an event about the caller's own data).
OPEN = 101

Body = Callable[["World"], dict[str, Any]]
Query = Callable[["World"], dict[str, str]]


@dataclass(frozen=True)
class Access:
    """The status each caller gets, in ACTORS order, and how to ask."""

    anonymous: int
    customer_a: int
    customer_b: int
    provider_a: int
    provider_b: int
    key_holder: int
    body: Body | None = None
    query: Query | None = None
    # The request changes or deletes its target: each caller gets a new one of A's.
    fresh: bool = False
    # The request changes the caller itself (signs it out, makes it a provider): run last.
    changes_caller: bool = False

    def expected(self, actor: str) -> int:
        status: int = getattr(self, actor)
        return status


def _signup_body(world: World) -> dict[str, Any]:
    return {"email": world.new_email(), "password": PASSWORD, "name": "New"}


def _booking_body(world: World) -> dict[str, Any]:
    return {**GUEST, "slot_id": world.next_free_slot_of_a()}


def _reschedule_body(world: World) -> dict[str, Any]:
    return {"slot_id": world.next_free_slot_of_a()}


def _waitlist_body(world: World) -> dict[str, Any]:
    return {**GUEST, "customer_email": world.new_email(), "date": world.waitlist_day}


def _reset_request_body(world: World) -> dict[str, Any]:
    return {"email": world.new_email()}


def _time_off_body(world: World) -> dict[str, Any]:
    first = world.next_time_off_day()
    return {"starts_at": f"{first}T09:00", "ends_at": f"{first}T10:00", "reason": "Dentist"}


def _body(value: dict[str, Any]) -> Body:
    return lambda _: value


UNREACHABLE_CALDAV = {"url": "http://127.0.0.1:9/appointly/", "username": "a", "password": "b"}


WRONG_LOGIN = _body({"email": "nobody@example.com", "password": "wrong password"})
SAME_PASSWORD = _body({"current_password": PASSWORD, "new_password": PASSWORD})
BAD_TOKEN = _body({"token": "not-a-real-token"})
BAD_RESET = _body({"token": "not-a-real-token", "password": "a new password"})
NEW_PROVIDER = _body({"business_name": "New Clinic", "timezone": "Europe/London"})
NEW_SERVICE = _body(
    {
        "name": "Another",
        "price_cents": 0,
        "currency": "GBP",
        "duration_minutes": 30,
        "max_appointments_per_day": 4,
        "hours": {"mon": [["09:00", "12:00"]]},
    }
)
RENAME = _body({"name": "Renamed"})
CLOSED_DAY = _body({"hours": []})
EMPTY = _body({})
NEW_WEBHOOK = _body({"url": "https://example.com/hook", "events": ["booking.created"]})

# Status of each caller:  anonymous, customer A, customer B, provider A, provider B, key holder.
# Pages answer 302 where they send the caller to sign in or on; sockets answer OPEN, a close
# code (4401 sign in, 4403 not a provider, 4404 not found) or the HTTP status of a refusal.
MATRIX: dict[tuple[str, str], Access] = {
    # Public pages and documents.
    ("GET", "/"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/signup"): Access(200, 302, 302, 302, 302, 200),
    ("GET", "/login"): Access(200, 302, 302, 302, 302, 200),
    ("GET", "/forgot-password"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/reset-password"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/verify-email"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/services"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/services/<service_id>"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/services/<service_id>/book"): Access(
        200, 200, 200, 200, 200, 200, query=lambda world: {"slot": world.next_free_slot_of_a()}
    ),
    ("GET", "/static/<path:filename>"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/healthz"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/api/realtime"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/openapi.json"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/docs"): Access(200, 200, 200, 200, 200, 200),
    # Not for sessions: only METRICS_TOKEN opens it, and this app has none (tests/test_metrics.py).
    ("GET", "/metrics"): Access(404, 404, 404, 404, 404, 404),
    ("GET", "/redocs"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/scalar"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/auth/google"): Access(302, 302, 302, 302, 302, 302),
    ("GET", "/auth/google/callback"): Access(302, 302, 302, 302, 302, 302),
    # Pages for signed-in people.
    ("GET", "/dashboard"): Access(302, 200, 200, 200, 200, 302),
    ("GET", "/onboarding"): Access(302, 200, 200, 302, 302, 302),
    ("GET", "/add-service"): Access(302, 302, 302, 200, 200, 302),
    ("GET", "/embed"): Access(302, 302, 302, 200, 200, 302),
    ("GET", "/availability"): Access(302, 302, 302, 200, 200, 302),
    ("GET", "/services/<service_id>/edit"): Access(302, 302, 302, 200, 404, 302),
    ("GET", "/bookings"): Access(302, 200, 200, 200, 200, 302),
    ("GET", "/bookings/<appointment_id>"): Access(404, 200, 404, 404, 404, 404),
    # Accounts.
    ("POST", "/api/auth/signup"): Access(201, 201, 201, 201, 201, 201, body=_signup_body),
    ("POST", "/api/auth/login"): Access(401, 401, 401, 401, 401, 401, body=WRONG_LOGIN),
    ("GET", "/api/me"): Access(401, 200, 200, 200, 200, 401),
    ("POST", "/api/me/password"): Access(401, 204, 204, 204, 204, 401, body=SAME_PASSWORD),
    ("POST", "/api/me/verify-email"): Access(401, 202, 202, 202, 202, 401),
    ("POST", "/api/auth/verify-email"): Access(400, 400, 400, 400, 400, 400, body=BAD_TOKEN),
    ("POST", "/api/auth/password-reset"): Access(
        202, 202, 202, 202, 202, 202, body=_reset_request_body
    ),
    ("POST", "/api/auth/password-reset/confirm"): Access(
        400, 400, 400, 400, 400, 400, body=BAD_RESET
    ),
    # Providers and their services.
    ("GET", "/api/providers/me"): Access(401, 404, 404, 200, 200, 401),
    ("POST", "/api/providers/me/stripe/connect"): Access(401, 403, 403, 200, 200, 401, body=EMPTY),
    ("POST", "/api/services"): Access(401, 403, 403, 201, 201, 401, body=NEW_SERVICE),
    ("GET", "/api/services"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/api/providers/me/services"): Access(401, 403, 403, 200, 200, 401),
    ("GET", "/api/services/<service_id>"): Access(200, 200, 200, 200, 200, 200),
    ("GET", "/api/services/<service_id>/slots"): Access(200, 200, 200, 200, 200, 200),
    ("PATCH", "/api/services/<service_id>"): Access(
        401, 404, 404, 200, 404, 401, body=RENAME, fresh=True
    ),
    ("DELETE", "/api/services/<service_id>"): Access(401, 404, 404, 204, 404, 401, fresh=True),
    # Availability beyond weekly hours.
    ("GET", "/api/services/<service_id>/date-overrides"): Access(401, 404, 404, 200, 404, 401),
    ("PUT", "/api/services/<service_id>/date-overrides/<date>"): Access(
        401, 404, 404, 200, 404, 401, body=CLOSED_DAY, fresh=True
    ),
    ("DELETE", "/api/services/<service_id>/date-overrides/<date>"): Access(
        401, 404, 404, 204, 404, 401, fresh=True
    ),
    ("GET", "/api/providers/me/time-off"): Access(401, 403, 403, 200, 200, 401),
    ("POST", "/api/providers/me/time-off"): Access(
        401, 403, 403, 201, 201, 401, body=_time_off_body
    ),
    ("DELETE", "/api/providers/me/time-off/<time_off_id>"): Access(
        401, 403, 403, 204, 404, 401, fresh=True
    ),
    # Calendars: the feed's URL (the caller's own) and the feed itself (the token is the key).
    ("GET", "/api/providers/me/calendar-feed"): Access(401, 403, 403, 200, 200, 401),
    ("POST", "/api/providers/me/calendar-feed/rotate"): Access(401, 403, 403, 200, 200, 401),
    ("GET", "/calendar/<string:token>.ics"): Access(200, 200, 200, 200, 200, 200, fresh=True),
    ("GET", "/api/providers/me/busy-calendars"): Access(401, 403, 403, 200, 200, 401),
    ("PUT", "/api/providers/me/busy-calendars"): Access(
        401, 403, 403, 200, 200, 401, body=_body({"urls": []})
    ),
    # CalDAV: the caller's own calendar; nothing listens on port 9, so a provider's connect is
    # 422 caldav_unreachable, and with none connected the rest answer 404.
    ("PUT", "/api/providers/me/caldav"): Access(
        401, 403, 403, 422, 422, 401, body=_body(UNREACHABLE_CALDAV)
    ),
    ("GET", "/api/providers/me/caldav"): Access(401, 403, 403, 404, 404, 401),
    ("POST", "/api/providers/me/caldav/test"): Access(401, 403, 403, 404, 404, 401),
    ("DELETE", "/api/providers/me/caldav"): Access(401, 403, 403, 404, 404, 401),
    # Webhooks: the caller's own (another provider's answers 404).
    ("GET", "/api/providers/me/webhooks"): Access(401, 403, 403, 200, 200, 401),
    ("POST", "/api/providers/me/webhooks"): Access(401, 403, 403, 201, 201, 401, body=NEW_WEBHOOK),
    ("DELETE", "/api/providers/me/webhooks/<webhook_id>"): Access(
        401, 403, 403, 204, 404, 401, fresh=True
    ),
    ("GET", "/api/providers/me/webhooks/<webhook_id>/deliveries"): Access(
        401, 403, 403, 200, 404, 401
    ),
    # Bookings, seen by customers.
    ("POST", "/api/bookings"): Access(201, 201, 201, 201, 201, 201, body=_booking_body),
    ("GET", "/api/bookings/<appointment_id>"): Access(404, 200, 404, 404, 404, 404),
    ("POST", "/api/bookings/<appointment_id>/cancel"): Access(
        404, 200, 404, 404, 404, 404, fresh=True
    ),
    ("POST", "/api/bookings/<appointment_id>/reschedule"): Access(
        404, 200, 404, 404, 404, 404, body=_reschedule_body, fresh=True
    ),
    ("GET", "/api/me/bookings"): Access(401, 200, 200, 200, 200, 401),
    # The waitlist (customer A joined A's closed day while signed in).
    ("POST", "/api/services/<service_id>/waitlist"): Access(
        201, 201, 201, 201, 201, 201, body=_waitlist_body
    ),
    ("GET", "/api/waitlist/<entry_id>"): Access(404, 200, 404, 404, 404, 404),
    ("POST", "/api/waitlist/<entry_id>/leave"): Access(404, 200, 404, 404, 404, 404, fresh=True),
    ("POST", "/api/waitlist/<entry_id>/claim"): Access(404, 409, 404, 404, 404, 404),
    ("GET", "/waitlist/<entry_id>"): Access(404, 200, 404, 404, 404, 404),
    ("GET", "/api/dashboard/waitlist"): Access(401, 403, 403, 200, 200, 401),
    # The provider dashboard.
    ("GET", "/api/dashboard/schedule"): Access(401, 403, 403, 200, 200, 401),
    ("GET", "/api/dashboard/appointments"): Access(401, 403, 403, 200, 200, 401),
    ("GET", "/api/dashboard/stats"): Access(401, 403, 403, 200, 200, 401),
    ("POST", "/api/appointments/<uuid:appointment_id>/confirm"): Access(
        401, 403, 403, 200, 404, 401, fresh=True
    ),
    ("POST", "/api/appointments/<uuid:appointment_id>/reject"): Access(
        401, 403, 403, 200, 404, 401, fresh=True
    ),
    ("POST", "/api/appointments/<uuid:appointment_id>/cancel"): Access(
        401, 403, 403, 200, 404, 401, fresh=True
    ),
    ("POST", "/api/appointments/<uuid:appointment_id>/complete"): Access(
        401, 403, 403, 409, 404, 401, fresh=True
    ),
    ("POST", "/api/appointments/<uuid:appointment_id>/no-show"): Access(
        401, 403, 403, 409, 404, 401, fresh=True
    ),
    ("POST", "/api/appointments/<uuid:appointment_id>/reschedule"): Access(
        401, 403, 403, 200, 404, 401, body=_reschedule_body, fresh=True
    ),
    # The operator's view: nobody here is in APPOINTLY_ADMIN_EMAILS (tests/test_admin.py).
    ("GET", "/admin"): Access(302, 404, 404, 404, 404, 302),
    ("GET", "/api/admin/overview"): Access(401, 404, 404, 404, 404, 401),
    ("POST", "/api/admin/messages/<uuid:message_id>/retry"): Access(401, 404, 404, 404, 404, 401),
    # Stripe calls this; only its signature lets an event in.
    ("POST", "/webhooks/stripe"): Access(400, 400, 400, 400, 400, 400, body=EMPTY),
    # Live sockets.
    (WEBSOCKET, "/ws/services/<service_id>/slots"): Access(OPEN, OPEN, OPEN, OPEN, OPEN, OPEN),
    (WEBSOCKET, "/ws/provider"): Access(4401, 4403, 4403, OPEN, OPEN, 4401),
    (WEBSOCKET, "/ws/waitlist/<entry_id>"): Access(4404, OPEN, 4404, 4404, 4404, 4404),
    # Last: these change the callers themselves (logout last of all).
    ("POST", "/api/providers"): Access(
        401, 201, 201, 409, 409, 401, body=NEW_PROVIDER, changes_caller=True
    ),
    ("POST", "/api/auth/logout"): Access(204, 204, 204, 204, 204, 204, changes_caller=True),
}

_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


def routes_of(live_app: LiveApp) -> set[tuple[str, str]]:
    """Every (method, rule) the app serves; WebSocket routes as ("WS", rule)."""
    found = set()
    for rule in live_app.app.url_map.iter_rules():
        if getattr(rule, "websocket", False):
            found.add((WEBSOCKET, rule.rule))
            continue
        for method in (rule.methods or set()) - IGNORED_METHODS:
            found.add((method, rule.rule))
    return found


def variables_of(rule: str) -> list[str]:
    return _VARIABLE.findall(rule)


@dataclass
class Caller:
    name: str
    cookies: dict[str, str] = field(default_factory=dict)
    key: str | None = None  # the key holder's: another booking's manage key


@dataclass
class World:
    """Two providers with a service each, their customers and bookings, and the six callers."""

    live_app: LiveApp
    provider_a: httpx.AsyncClient
    provider_b: httpx.AsyncClient
    service_a: str = ""
    service_b: str = ""
    callers: dict[str, Caller] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    _free_of_a: list[str] = field(default_factory=list)
    # A closed day of A's service, so it has no bookable slot and anyone may join its waitlist.
    waitlist_day: str = ""
    _next_day: int = 1
    _time_off_days: int = 0
    _emails: int = 0

    def new_email(self) -> str:
        self._emails += 1
        return f"new{self._emails}-{secrets.token_hex(3)}@example.com"

    def next_time_off_day(self) -> date:
        self._time_off_days += 1
        return tomorrow() + timedelta(days=12 + self._time_off_days)

    def next_free_slot_of_a(self) -> str:
        return self._free_of_a.pop()

    async def top_up_free_slots(self) -> None:
        while len(self._free_of_a) < 20:
            day = tomorrow() + timedelta(days=self._next_day - 1)
            self._next_day += 1
            slots = await free_slots(self.provider_a, self.service_a, day)
            self._free_of_a.extend(slot["id"] for slot in reversed(slots))

    async def book_with_a(self, http: httpx.AsyncClient) -> dict[str, Any]:
        await self.top_up_free_slots()
        response = await http.post("/api/bookings", json=_booking_body(self))
        assert response.status_code == 201, response.text
        booking: dict[str, Any] = response.json()
        return booking

    async def book_with_b(self, http: httpx.AsyncClient) -> None:
        # Each socket row books with B once per caller: when a day runs out, the next one.
        for days_ahead in range(3, 10):
            free = await free_slots(
                self.provider_b, self.service_b, tomorrow() + timedelta(days_ahead)
            )
            if free:
                break
        slot = free[0]
        response = await http.post("/api/bookings", json={**GUEST, "slot_id": slot["id"]})
        assert response.status_code == 201, response.text

    async def add_override_of_a(self, service_id: str) -> str:
        day = (tomorrow() + timedelta(days=10)).isoformat()
        path = f"/api/services/{service_id}/date-overrides/{day}"
        response = await self.provider_a.put(path, json={"hours": [["10:00", "12:00"]]})
        assert response.status_code == 200, response.text
        return day

    async def close_day_of_a(self) -> None:
        self.waitlist_day = (tomorrow() + timedelta(days=20)).isoformat()
        path = f"/api/services/{self.service_a}/date-overrides/{self.waitlist_day}"
        response = await self.provider_a.put(path, json={"hours": []})
        assert response.status_code == 200, response.text

    async def join_waitlist_of_a(self) -> str:
        """Customer A, signed in, joins the waitlist of A's closed day; the entry's id."""
        customer = self.callers["customer_a"]
        async with self.live_app.client(cookies=customer.cookies) as http:
            response = await http.post(
                f"/api/services/{self.service_a}/waitlist", json=_waitlist_body(self)
            )
        assert response.status_code == 201, response.text
        entry_id: str = response.json()["entry"]["id"]
        return entry_id

    async def add_time_off_of_a(self) -> str:
        response = await self.provider_a.post(
            "/api/providers/me/time-off", json=_time_off_body(self)
        )
        assert response.status_code == 201, response.text
        time_off_id: str = response.json()["time_off"]["id"]
        return time_off_id

    async def add_webhook_of_a(self) -> str:
        response = await self.provider_a.post("/api/providers/me/webhooks", json=NEW_WEBHOOK(self))
        assert response.status_code == 201, response.text
        webhook_id: str = response.json()["webhook"]["id"]
        return webhook_id

    async def fresh_targets(self, variables: list[str]) -> dict[str, str]:
        """New things of A's for the variables a changing request names."""
        targets = dict(self.targets)
        if "service_id" in variables:
            targets["service_id"] = (await create_service(self.provider_a))["id"]
        if "date" in variables:
            targets["date"] = await self.add_override_of_a(targets["service_id"])
        if "appointment_id" in variables:
            customer = self.callers["customer_a"]
            async with self.live_app.client(cookies=customer.cookies) as http:
                targets["appointment_id"] = (await self.book_with_a(http))["appointment"]["id"]
        if "time_off_id" in variables:
            targets["time_off_id"] = await self.add_time_off_of_a()
        if "entry_id" in variables:
            targets["entry_id"] = await self.join_waitlist_of_a()
        if "webhook_id" in variables:
            targets["webhook_id"] = await self.add_webhook_of_a()
        if "token" in variables:
            targets["token"] = await self.feed_token_of_a()
        return targets

    async def a_message_to_a(self) -> str:
        """An e-mail queued for provider A by the bookings above (the operator's retry target)."""
        pool = self.live_app.app.extensions["appointly"].pool
        message_id = await pool.fetchval(
            "SELECT id FROM outbox WHERE recipient = 'pa@example.com' ORDER BY created_at LIMIT 1"
        )
        assert message_id is not None
        return str(message_id)

    async def feed_token_of_a(self) -> str:
        """The token of A's calendar feed URL (BASE_URL/calendar/TOKEN.ics) as it is now."""
        response = await self.provider_a.get("/api/providers/me/calendar-feed")
        assert response.status_code == 200, response.text
        url: str = response.json()["url"]
        return url.rsplit("/", 1)[1].removesuffix(".ics")


async def _sign_up(http: httpx.AsyncClient, email: str) -> None:
    response = await http.post(
        "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": email[:2]}
    )
    assert response.status_code == 201, response.text


async def _become_provider(http: httpx.AsyncClient, email: str, business: str) -> str:
    await _sign_up(http, email)
    response = await http.post(
        "/api/providers", json={"business_name": business, "timezone": "Europe/London"}
    )
    assert response.status_code == 201, response.text
    return str((await create_service(http))["id"])


def _manage_key(booking: dict[str, Any]) -> str:
    return parse_qs(urlsplit(booking["manage_url"]).query)["key"][0]


@pytest.fixture
async def world(live_app: LiveApp) -> AsyncIterator[World]:
    async with (
        live_app.client() as provider_a,
        live_app.client() as provider_b,
        live_app.client() as customer_a,
        live_app.client() as customer_b,
        live_app.client() as guest,
    ):
        built = World(live_app, provider_a, provider_b)
        built.service_a = await _become_provider(provider_a, "pa@example.com", "A's Clinic")
        built.service_b = await _become_provider(provider_b, "pb@example.com", "B's Clinic")
        await _sign_up(customer_a, "ca@example.com")
        await _sign_up(customer_b, "cb@example.com")
        booking_of_a = await built.book_with_a(customer_a)
        await built.book_with_b(customer_b)
        other_booking = await built.book_with_a(guest)
        built.callers = {
            "anonymous": Caller("anonymous"),
            "customer_a": Caller("customer_a", dict(customer_a.cookies)),
            "customer_b": Caller("customer_b", dict(customer_b.cookies)),
            "provider_a": Caller("provider_a", dict(provider_a.cookies)),
            "provider_b": Caller("provider_b", dict(provider_b.cookies)),
            "key_holder": Caller("key_holder", key=_manage_key(other_booking)),
        }
        built.targets = {
            "service_id": built.service_a,
            "appointment_id": booking_of_a["appointment"]["id"],
            "date": await built.add_override_of_a(built.service_a),
            "time_off_id": await built.add_time_off_of_a(),
            "filename": "css/app.css",
            "webhook_id": await built.add_webhook_of_a(),
            "token": await built.feed_token_of_a(),
            "message_id": await built.a_message_to_a(),
        }
        await built.close_day_of_a()
        built.targets["entry_id"] = await built.join_waitlist_of_a()
        yield built


def _path(rule: str, targets: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda match: targets[match[1]], rule)


async def _http_status(
    world: World, caller: Caller, method: str, rule: str, path: str, row: Access
) -> int:
    query = row.query(world) if row.query is not None else {}
    if caller.key is not None and "appointment_id" in variables_of(rule):
        query["key"] = caller.key
    body = row.body(world) if row.body is not None else None
    # A client of its own per request: a sign-up or sign-in answer must not replace the
    # caller's cookie for the rows after it.
    async with world.live_app.client(cookies=caller.cookies, follow_redirects=False) as http:
        response = await http.request(method, path, params=query, json=body)
    return response.status_code


async def _socket_outcome(world: World, caller: Caller, path: str) -> int:
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in caller.cookies.items())}
    first = tomorrow().isoformat()
    url = ws_url(world.live_app.url, f"{path}?from={first}&to={first}")
    try:
        async with connect(url, open_timeout=10, additional_headers=headers) as socket:
            # Something happens to both providers' data: an open provider feed hears about its
            # own; a refused socket has been closed already.
            async with world.live_app.client() as guest:
                await world.book_with_a(guest)
                await world.book_with_b(guest)
            try:
                async with asyncio.timeout(10):
                    await socket.recv()
            except ConnectionClosed:
                return socket.close_code or 1006
            return OPEN
    except InvalidStatus as refused:
        return refused.response.status_code


async def _observe(world: World, method: str, rule: str, row: Access) -> dict[str, int]:
    seen = {}
    for actor in ACTORS:
        caller = world.callers[actor]
        targets = await world.fresh_targets(variables_of(rule)) if row.fresh else world.targets
        await world.top_up_free_slots()
        path = _path(rule, targets)
        if method == WEBSOCKET:
            seen[actor] = await _socket_outcome(world, caller, path)
        else:
            seen[actor] = await _http_status(world, caller, method, rule, path, row)
    return seen


def test_every_route_has_a_row_in_the_access_matrix(live_app: LiveApp) -> None:
    served = routes_of(live_app)
    assert ("POST", "/api/bookings") in served  # the walk really sees the app's routes
    missing = sorted(served - MATRIX.keys())
    assert not missing, (
        "Routes without a row in MATRIX (tests/test_access_matrix.py). Add one per route with "
        "the status each caller must get — anonymous, customer A, customer B, provider A, "
        "provider B, key holder — for a target that belongs to provider A, e.g.\n"
        + "\n".join(
            f'    ("{method}", "{rule}"): Access(401, 403, 403, 200, 404, 401),'
            for method, rule in missing
        )
        + "\nGive `body=` for a JSON body, `fresh=True` if the request changes its target, and "
        "a target in World.targets / World.fresh_targets for any new path variable name."
    )
    stale = sorted(MATRIX.keys() - served)
    assert not stale, f"MATRIX rows for routes the app no longer serves: {stale}"


def test_every_path_variable_has_a_target() -> None:
    known = {
        "service_id",
        "appointment_id",
        "date",
        "time_off_id",
        "filename",
        "entry_id",
        "token",
        "webhook_id",
        "message_id",
    }
    unknown = {name: rule for _, rule in MATRIX for name in variables_of(rule) if name not in known}
    assert not unknown, (
        f"Path variables without a target: {unknown}. Create one of provider A's in the "
        "`world` fixture (World.targets) and, if a row changes it, in World.fresh_targets."
    )


async def test_every_route_answers_each_caller_as_the_access_matrix_says(
    live_app: LiveApp, world: World
) -> None:
    rows = sorted(MATRIX.items(), key=lambda item: item[1].changes_caller)
    wrong = []
    for (method, rule), row in rows:
        if (method, rule) not in routes_of(live_app):
            continue
        seen = await _observe(world, method, rule, row)
        expected = {actor: row.expected(actor) for actor in ACTORS}
        if seen != expected:
            differences = ", ".join(
                f"{actor} {seen[actor]} (expected {expected[actor]})"
                for actor in ACTORS
                if seen[actor] != expected[actor]
            )
            wrong.append(f"{method} {rule}: {differences}")
    assert wrong == [], "\n".join(wrong)
