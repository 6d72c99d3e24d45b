"""Meta-test: every state-changing route needs a session, except the few that are public on
purpose. It walks the app's URL map, so routes added later are checked without editing it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from server.edge.security import is_public_state_changing
from tests.conftest import LiveApp, make_provider
from tests.support.booking import service_body

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
        "/api/bookings/<id>/reschedule",
        "/api/services/<id>/waitlist",
        "/api/waitlist/<id>/leave",
        "/api/waitlist/<id>/claim",
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


# --- Pages ---------------------------------------------------------------------------------------

# Who may open each page is a decision too: a page added to the page blueprints must be listed
# here, either public or with where a signed-out visitor is sent instead.
PUBLIC_PAGES = frozenset(
    {
        "/",
        "/signup",
        "/login",
        "/forgot-password",
        "/reset-password",
        "/verify-email",
        "/services",
        "/services/<id>",
        "/services/<id>/book",
        "/bookings/<id>",
        "/waitlist/<id>",
    }
)
PAGES_FOR_SIGNED_IN = {
    "/dashboard": "/login?next=/dashboard",
    "/bookings": "/login?next=/bookings",
    "/onboarding": "/signup?next=/onboarding",
    "/add-service": "/login?next=/add-service",
    "/embed": "/login?next=/embed",
    "/availability": "/login?next=/availability",
    "/services/<id>/edit": "/login?next=/services/<id>/edit",
    "/admin": "/login?next=/admin",
}
# A signed-in user who is not a provider is sent to /onboarding from these.
PROVIDER_PAGES = ("/add-service", "/embed", "/availability", "/services/<id>/edit")
PAGE_BLUEPRINTS = ("pages.", "customer_pages.", "waitlist_pages.", "admin_pages.")


def _page_routes(live_app: LiveApp) -> list[str]:
    return sorted(
        _normalised(rule.rule)
        for rule in live_app.app.url_map.iter_rules()
        if not getattr(rule, "websocket", False) and rule.endpoint.startswith(PAGE_BLUEPRINTS)
    )


def test_every_page_is_reviewed_as_public_or_for_signed_in_users(live_app: LiveApp) -> None:
    pages = _page_routes(live_app)
    assert "/services/<id>/edit" in pages  # the walk really sees the app's pages
    reviewed = PUBLIC_PAGES | PAGES_FOR_SIGNED_IN.keys()
    assert [page for page in pages if page not in reviewed] == []


@pytest.mark.parametrize("page", sorted(PAGES_FOR_SIGNED_IN))
async def test_a_signed_out_visitor_is_sent_to_sign_in_from_pages_that_need_an_account(
    page: str, client: httpx.AsyncClient
) -> None:
    some_id = str(uuid.uuid4())
    response = await client.get(page.replace("<id>", some_id))
    assert response.status_code == 302
    assert response.headers["location"] == PAGES_FOR_SIGNED_IN[page].replace("<id>", some_id)


async def test_a_user_who_is_not_a_provider_is_sent_to_onboarding_from_provider_pages(
    client: httpx.AsyncClient,
) -> None:
    signup = await client.post(
        "/api/auth/signup",
        json={"email": "customer@example.com", "password": "correct horse", "name": "C"},
    )
    assert signup.status_code == 201
    for page in PROVIDER_PAGES:
        response = await client.get(page.replace("<id>", str(uuid.uuid4())))
        assert (response.status_code, response.headers.get("location")) == (302, "/onboarding")


async def test_only_its_owner_can_open_a_services_editor(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    await make_provider(client, business_name="Ada's Clinic")
    created = await client.post("/api/services", json=service_body(name="Sports massage"))
    assert created.status_code == 201, created.text
    editor = f"/services/{created.json()['service']['id']}/edit"
    assert (await client.get(editor)).status_code == 200
    async with live_app.client() as rival:
        await make_provider(rival, business_name="Rival", email="rival@example.com")
        for path in (editor, f"/services/{uuid.uuid4()}/edit", "/services/not-an-id/edit"):
            response = await rival.get(path)
            assert response.status_code == 404, path
            assert "Service not found" in response.text
    assert (
        await client.delete(editor.removesuffix("/edit").replace("/services", "/api/services"))
    ).status_code == 204
    assert (await client.get(editor)).status_code == 404
