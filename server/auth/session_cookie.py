"""The session cookie, as quart-auth writes it: its name, lifetime, and how to read it outside
Quart (the socket tier verifies it with the same SECRET_KEY)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from uuid import UUID

from itsdangerous import BadSignature
from quart_auth import QuartAuth

COOKIE_NAME = "appointly_session"
COOKIE_DURATION = 30 * 24 * 60 * 60
# quart-auth's default QUART_AUTH_SALT; create_app leaves it as it is.
COOKIE_SALT = "quart auth salt"


def session_id_from_cookies(secret_key: str, cookie_header: str | None) -> UUID | None:
    """The session id the request's signed session cookie names; None when there is no cookie
    or its signature or age does not hold."""
    if not cookie_header:
        return None
    try:
        cookies = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = cookies.get(COOKIE_NAME)
    if morsel is None:
        return None
    serializer = QuartAuth.serializer_class(secret_key, COOKIE_SALT)
    try:
        auth_id = serializer.loads(morsel.value, max_age=COOKIE_DURATION)
    except BadSignature:  # SignatureExpired is one too
        return None
    try:
        return UUID(str(auth_id))
    except ValueError:
        return None
