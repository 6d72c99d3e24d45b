"""The CSRF Origin rule and the security headers every response carries."""

from __future__ import annotations

import re

from quart import Quart, Response, current_app, request

from server.auth.session_user import session_user
from server.edge.cors import is_cross_site_api_call, is_foreign_origin
from server.edge.errors import APIError
from server.infra.state import config

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# State-changing routes anyone may call without a session. Every other POST/PUT/PATCH/DELETE
# answers 401 to an anonymous caller before its body is even read (deny by default), so a new
# route cannot be left open by forgetting require_user(). tests/test_route_protection.py keeps
# its own copy of this list so that opening a route is a deliberate, reviewed change.
PUBLIC_STATE_CHANGING_PREFIXES = (
    "/api/auth/",  # signing up, in and out: an anonymous caller is the point
    "/api/bookings",  # guests book, and manage with the key from their e-mail
    "/api/services/x/waitlist",  # guests join a full day's waitlist (as they book)
    "/api/waitlist/",  # and manage their place with the key from its link
    "/webhooks/",  # Stripe authenticates with its signature, not a cookie
)
_URL_VARIABLE = re.compile(r"<[^>]*>")
# Pages whose URL carries a secret (a manage key, a reset or verification token, Google's code
# and state): the browser must not send that URL on as a Referer, neither to other sites nor in
# the page's own requests for scripts and API calls (which Hypercorn's access log records).
# Matched on the path, so a page answers this way before it is even built.
_SECRET_URL_PAGES = re.compile(
    r"^/(?:bookings|waitlist|calendar)/.|^/(?:reset-password|verify-email|auth/google/callback)/?$"
)

_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# quart-schema's /docs page loads its viewer from a CDN; only that page may.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https:; frame-ancestors 'none'"
)


def install_security(app: Quart) -> None:
    app.before_request(refuse_cross_site_requests)
    app.before_request(refuse_anonymous_state_changes)
    app.after_request(add_security_headers)


async def refuse_cross_site_requests() -> None:
    """A state-changing request that carries our cookie must come from our own origin.

    SameSite=Lax already keeps the cookie off most cross-site POSTs; checking Origin closes the
    rest (same-site subdomains, old browsers). Requests with no Origin are non-browser clients.
    """
    # The widget's routes (server/edge/cors.py) ignore the cookie cross-site instead: there it
    # authenticates nothing, so there is nothing to forge.
    if request.method in SAFE_METHODS or is_cross_site_api_call():
        return
    if _auth_cookie_name() in request.cookies and is_foreign_origin():
        raise APIError(403, "csrf_failed", "This request did not come from Appointly's own pages.")


async def refuse_anonymous_state_changes() -> None:
    """Only the public routes above change state for a caller who is not signed in."""
    rule = request.url_rule
    if request.method in SAFE_METHODS or rule is None or is_public_state_changing(rule.rule):
        return
    if not await session_user().is_authenticated:
        raise APIError(401, "unauthenticated", "Please sign in first.")


def is_public_state_changing(rule: str) -> bool:
    """Whether the route `rule` (e.g. "/api/bookings/<uuid:id>/cancel") is open to anyone."""
    path = _URL_VARIABLE.sub("x", rule)
    return path.startswith(PUBLIC_STATE_CHANGING_PREFIXES)


def _auth_cookie_name() -> str:
    name: str = current_app.config["QUART_AUTH_COOKIE_NAME"]
    return name


def referrer_policy(path: str) -> str:
    """no-referrer for a page whose URL carries a secret, else the browsers' default."""
    if _SECRET_URL_PAGES.match(path):
        return "no-referrer"
    return "strict-origin-when-cross-origin"


async def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", referrer_policy(request.path))
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.path.startswith("/docs"):
        headers.setdefault("Content-Security-Policy", _DOCS_CSP)
    else:
        headers.setdefault("Content-Security-Policy", _CSP)
    # Pages may not be framed; the widget (later) renders into the host page, not an iframe.
    headers.setdefault("X-Frame-Options", "DENY")
    if config().is_https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
