"""Sign in with Google (OpenID Connect). The protocol lives in server/auth/google.py."""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import document_querystring

from realtime.publish import publish_sessions_revoked
from server.auth.google import (
    STATE_TTL_SECONDS,
    GoogleSignInError,
    begin_sign_in,
    browser_binding,
    complete_sign_in,
    user_for_identity,
)
from server.auth.session_user import start_session
from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.infra.config import Config
from server.infra.state import config, db, publisher, redis

log = logging.getLogger(__name__)

blueprint = Blueprint("google", __name__)

FAILED_LOCATION = "/login?error=google_failed"
# Binds a sign-in to the browser that started it; sent only to /auth/google and its callback.
BINDING_COOKIE = "appointly_google_binding"
BINDING_COOKIE_PATH = "/auth/google"


class SignInQuery(BaseModel):
    next: str | None = Field(default=None, description="A path on this site to land on after.")


class CallbackQuery(BaseModel):
    state: str | None = None
    code: str | None = None
    error: str | None = Field(default=None, description="Set by Google when sign-in failed.")


def _redirect(location: str) -> Response:
    # The state and code in these URLs are single-use secrets; keep them out of caches.
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _set_binding_cookie(response: Response, binding: str, current: Config) -> None:
    # SameSite=Lax still sends it on the top-level GET that Google redirects back with.
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=STATE_TTL_SECONDS,
        path=BINDING_COOKIE_PATH,
        secure=current.is_https,
        httponly=True,
        samesite="Lax",
    )


def _google_config() -> Config:
    current = config()
    if not current.google_enabled:
        raise APIError(404, "google_disabled", "Sign-in with Google is not configured here.")
    return current


@blueprint.get("/auth/google")
@document_querystring(SignInQuery)
@responds(302, description="To Google's consent page (or /login?error=google_failed).")
@errors(404)
async def get_google_sign_in() -> Response:
    """Start signing in with Google: redirect to Google's consent page.

    `next` is where to land afterwards (a path on this site; anything else means /dashboard).
    Sets a short-lived HttpOnly cookie (Path=/auth/google) that the callback requires, so only
    this browser can finish the sign-in.
    404 `google_disabled` when Google sign-in is not configured.
    """
    current = _google_config()
    binding = browser_binding(request.cookies.get(BINDING_COOKIE))
    try:
        location = await begin_sign_in(redis(), current, request.args.get("next"), binding)
    except GoogleSignInError as error:
        log.warning("google sign-in could not start: %s", error)
        return _redirect(FAILED_LOCATION)
    response = _redirect(location)
    _set_binding_cookie(response, binding, current)
    return response


@blueprint.get("/auth/google/callback")
@document_querystring(CallbackQuery)
@responds(302, description="To `next` when signed in, else /login?error=google_failed.")
@errors(404)
async def get_google_callback() -> Response:
    """Where Google sends the browser back: verify everything, sign in, go to `next`.

    Only the browser that started the sign-in (it holds the cookie `/auth/google` set) can
    finish it. Any failure redirects to `/login?error=google_failed`.
    """
    current = _google_config()
    try:
        completed = await complete_sign_in(
            redis(), current, request.args, request.cookies.get(BINDING_COOKIE)
        )
        signed_in = await user_for_identity(await db(), completed.identity)
    except GoogleSignInError as error:
        log.info("google sign-in refused: %s", error)
        return _redirect(FAILED_LOCATION)
    except Exception:
        # The contract promises a redirect, never a 500, whatever the provider sent us.
        log.exception("google sign-in failed unexpectedly")
        return _redirect(FAILED_LOCATION)
    if signed_in.ended_sessions:
        await publish_sessions_revoked(publisher(), signed_in.user.id)
    await start_session(signed_in.user)
    return _redirect(completed.next)
