"""CORS for the booking and slot routes the embeddable widget calls from other sites.

Those routes answer any origin with `Access-Control-Allow-Origin: *` and never with
`Allow-Credentials`, so a browser never sends our cookie on the widget's behalf and never lets a
foreign page read a credentialed answer. A request from a foreign origin that carries the
cookie anyway (a same-site subdomain, a form post) is served as anonymous: on these routes the
cookie is ignored rather than refused, so a guest booking from a widget still works but is never
linked to, or authorised by, the account signed in on Appointly itself.
"""

from __future__ import annotations

import re

from quart import Quart, Response, request

from server.auth.session_user import treat_request_as_anonymous
from server.infra.state import config

ALLOWED_REQUEST_HEADERS = "Content-Type, Idempotency-Key"
# Chromium caps a cached preflight at two hours.
PREFLIGHT_MAX_AGE_SECONDS = 7200
WIDGET_SCRIPT_PATH = "/static/widget.js"

# Route rule (variables written <id>) → the methods a foreign page may use on it.
CROSS_ORIGIN_ROUTES: dict[str, frozenset[str]] = {
    "/api/services": frozenset({"GET"}),
    # Where the widget opens its live socket.
    "/api/realtime": frozenset({"GET"}),
    "/api/services/<id>": frozenset({"GET"}),
    "/api/services/<id>/slots": frozenset({"GET"}),
    "/api/bookings": frozenset({"POST"}),
    "/api/bookings/<id>": frozenset({"GET"}),
    "/api/bookings/<id>/cancel": frozenset({"POST"}),
    # The widget's "Join the waitlist" on a full day.
    "/api/services/<id>/waitlist": frozenset({"POST"}),
}
_URL_VARIABLE = re.compile(r"<[^>]*>")


def install_cors(app: Quart) -> None:
    app.before_request(ignore_session_cookie_cross_site)
    app.after_request(add_cors_headers)


def cross_origin_methods() -> frozenset[str]:
    """The methods this request's route allows cross-origin (empty when it is not a CORS route)."""
    rule = request.url_rule
    if rule is None:
        return frozenset()
    return CROSS_ORIGIN_ROUTES.get(_URL_VARIABLE.sub("<id>", rule.rule), frozenset())


def is_foreign_origin() -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin != config().base_origin


def is_cross_site_api_call() -> bool:
    """A foreign page calling a CORS route with a method it may use: its cookie is ignored."""
    return request.method in cross_origin_methods() and is_foreign_origin()


async def ignore_session_cookie_cross_site() -> None:
    if is_cross_site_api_call():
        treat_request_as_anonymous()


async def add_cors_headers(response: Response) -> Response:
    if request.path == WIDGET_SCRIPT_PATH:
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    methods = cross_origin_methods()
    if not methods:
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods | {"OPTIONS"}))
        headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
        headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response
