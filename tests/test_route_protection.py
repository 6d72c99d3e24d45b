"""Meta-test: every state-changing route needs a session, except the few that are public on
purpose. It walks the app's URL map, so routes added later are checked without editing it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from server.edge.security import is_public_state_changing
from tests.conftest import LiveApp

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Opening a route to anonymous callers is a decision: add it here (and in server/edge/security.py).
PUBLIC_STATE_CHANGING = frozenset(
    {
        "/api/auth/signup",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/password-reset",
        "/api/auth/password-reset/confirm",
        "/api/auth/verify-email",
        "/webhooks/stripe",
        "/api/bookings",
        "/api/bookings/<id>/cancel",
    }
)

_URL_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def _normalised(rule: str) -> str:
    """ "/api/bookings/<uuid:booking_id>/cancel" -> "/api/bookings/<id>/cancel"."""
    return _URL_VARIABLE.sub("<id>", rule)


def _state_changing_routes(live_app: LiveApp) -> list[tuple[str, str]]:
    routes = set()
    for rule in live_app.app.url_map.iter_rules():
        if getattr(rule, "websocket", False):
            continue
        for method in (rule.methods or set()) & STATE_CHANGING:
            routes.add((method, rule.rule))
    return sorted(routes)


def _concrete_path(rule: str) -> str:
    return _URL_VARIABLE.sub(lambda _: str(uuid.uuid4()), rule)


async def test_every_state_changing_route_needs_a_session_unless_listed_public(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    routes = _state_changing_routes(live_app)
    assert ("POST", "/api/providers") in routes  # the walk really sees the app's routes
    open_routes = []
    for method, rule in routes:
        if _normalised(rule) in PUBLIC_STATE_CHANGING:
            continue
        response = await client.request(method, _concrete_path(rule), json={})
        body = response.json() if response.headers.get("content-type") == "application/json" else {}
        if response.status_code != 401 or body.get("error", {}).get("code") != "unauthenticated":
            open_routes.append(f"{method} {rule} -> {response.status_code} {response.text[:120]}")
    assert open_routes == []


async def test_a_stale_session_cookie_is_no_better_than_none(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    signup = await client.post(
        "/api/auth/signup",
        json={"email": "stale@example.com", "password": "12345678", "name": "S"},
    )
    assert signup.status_code == 201
    assert (await client.post("/api/auth/logout")).status_code == 204
    # Replay the old cookie, as a thief who copied it would.
    stale = signup.cookies
    async with live_app.client(cookies=stale) as thief:
        for method, rule in _state_changing_routes(live_app):
            if _normalised(rule) in PUBLIC_STATE_CHANGING:
                continue
            response = await thief.request(method, _concrete_path(rule), json={})
            assert response.status_code == 401, f"{method} {rule}: {response.text}"


def test_the_servers_public_list_matches_this_review_list(live_app: LiveApp) -> None:
    for method, rule in _state_changing_routes(live_app):
        reviewed = _normalised(rule) in PUBLIC_STATE_CHANGING
        assert is_public_state_changing(rule) == reviewed, f"{method} {rule}"


@pytest.mark.parametrize("rule", sorted(PUBLIC_STATE_CHANGING))
def test_the_reviewed_public_routes_are_public_on_the_server(rule: str) -> None:
    assert is_public_state_changing(rule)
