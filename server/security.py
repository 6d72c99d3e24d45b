"""The CSRF Origin rule and the security headers every response carries."""

from __future__ import annotations

from quart import Quart, Response, request

from server.errors import APIError
from server.state import config

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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
    app.after_request(add_security_headers)


async def refuse_cross_site_requests() -> None:
    """A state-changing request that carries our cookie must come from our own origin.

    SameSite=Lax already keeps the cookie off most cross-site POSTs; checking Origin closes the
    rest (same-site subdomains, old browsers). Requests with no Origin are non-browser clients.
    """
    if request.method in SAFE_METHODS:
        return
    cookie_name = _auth_cookie_name()
    origin = request.headers.get("Origin")
    if cookie_name in request.cookies and origin is not None and origin != config().base_origin:
        raise APIError(403, "csrf_failed", "This request did not come from Appointly's own pages.")


def _auth_cookie_name() -> str:
    from quart import current_app

    name: str = current_app.config["QUART_AUTH_COOKIE_NAME"]
    return name


async def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
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
