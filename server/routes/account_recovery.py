"""Forgotten passwords, password changes and e-mail verification.

The three /api/auth/ routes are for callers who are not signed in (they hold a link's token
instead); the two /api/me/ routes need a session.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import validate_request

from realtime.publish import publish_sessions_revoked
from server.auth import recovery
from server.auth.rate_limit import LoginThrottle
from server.auth.session_user import require_user, session_user, start_session
from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import config, db, jobs, publisher, redis
from server.notifications.outbox import nudge_delivery
from server.routes import documented_rules as rules
from server.routes import shapes
from server.routes.documented_rules import MAX_EMAIL_LENGTH

blueprint = Blueprint("account_recovery", __name__)

# Tokens are secrets.token_urlsafe(32): 43 characters. Anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 200


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra=rules.EMAIL)


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=MAX_TOKEN_LENGTH, json_schema_extra=rules.TEXT)
    password: str = Field(max_length=4096, json_schema_extra=rules.PASSWORD)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=4096, json_schema_extra=rules.TEXT)
    new_password: str = Field(max_length=4096, json_schema_extra=rules.PASSWORD)


class VerifyEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=MAX_TOKEN_LENGTH, json_schema_extra=rules.TEXT)


# --- Response shapes, for the OpenAPI document ------------------------------------------------


class Accepted(BaseModel):
    accepted: Literal[True] = True


class VerificationQueued(BaseModel):
    # False when the address was verified already, so no e-mail went out.
    sent: bool


class EmailVerified(BaseModel):
    email: str
    email_verified: Literal[True] = True


def _client_ip() -> str:
    return request.remote_addr or "unknown"


# --- Routes -----------------------------------------------------------------------------------


@blueprint.post("/api/auth/password-reset")
@validate_request(PasswordResetRequest)
@responds(202, Accepted)
@errors(422, 429)
async def post_password_reset(data: PasswordResetRequest) -> Response:
    """Ask for a password-reset link by e-mail.

    Always 202 for a well-formed address, whether or not it has an account (no account
    discovery); an account gets a single-use link to `/reset-password?token=…`, valid for one
    hour, and any earlier link stops working. Errors: 422 `invalid_email`, 429 `rate_limited`
    (per IP address and per e-mail address, with `Retry-After`).
    """
    email = data.email.strip()
    await recovery.reset_quota(redis(), ip=_client_ip(), email=email).spend()
    if await recovery.request_password_reset(await db(), email=email, base_url=config().base_url):
        await nudge_delivery(jobs())
    return json_response(Accepted().model_dump(), 202)


@blueprint.post("/api/auth/password-reset/confirm")
@validate_request(PasswordResetConfirm)
@responds(200, shapes.UserEnvelope)
@errors(400, 422)
async def post_password_reset_confirm(data: PasswordResetConfirm) -> Response:
    """Set a new password with the token from a reset e-mail, and sign in.

    Every other session of the account is signed out, and the link stops working. Errors:
    400 `invalid_token` (unknown, used or expired), 422 `weak_password`.
    """
    user = await recovery.reset_password(token=data.token, password=data.password)
    await publish_sessions_revoked(publisher(), user.id)
    await start_session(user)
    return json_response({"user": user.to_json()})


@blueprint.post("/api/me/password")
@validate_request(PasswordChange)
@responds(204, description="Changed; this session stays signed in.")
@errors(401, 403, 422, 429)
async def post_my_password(data: PasswordChange) -> Response:
    """Change the signed-in user's password: 204, and every other session is signed out
    (this one keeps working).

    Errors: 401 `unauthenticated`; 403 `invalid_credentials` (wrong current password) or
    `no_password` (an account made with Google that has no password: use the reset flow);
    422 `weak_password`; 429 `rate_limited` after repeated wrong passwords.
    """
    user = await require_user()
    throttle = LoginThrottle(redis(), _client_ip(), user.email)
    await throttle.check()
    try:
        await recovery.change_password(
            user,
            current_password=data.current_password,
            new_password=data.new_password,
            keep_session=session_user().session_id,
        )
    except APIError as error:
        if error.code == "invalid_credentials":
            await throttle.record_failure()
        raise
    await publish_sessions_revoked(publisher(), user.id)
    return Response(status=204)


@blueprint.post("/api/me/verify-email")
@responds(202, VerificationQueued)
@errors(401, 429)
async def post_my_verify_email() -> Response:
    """E-mail the signed-in user a single-use link to `/verify-email?token=…` (valid 48 hours)
    that confirms the address is theirs. No body. `{"sent": false}` when it is verified already.

    Errors: 401 `unauthenticated`, 429 `rate_limited`.
    """
    user = await require_user()
    await recovery.verification_quota(redis(), user.id).spend()
    sent = await recovery.send_verification(await db(), user, base_url=config().base_url)
    if sent:
        await nudge_delivery(jobs())
    return json_response(VerificationQueued(sent=sent).model_dump(), 202)


@blueprint.post("/api/auth/verify-email")
@validate_request(VerifyEmailRequest)
@responds(200, EmailVerified)
@errors(400)
async def post_verify_email(data: VerifyEmailRequest) -> Response:
    """Confirm an e-mail address with the token from a verification e-mail (the
    `/verify-email` page posts it: opening the link itself changes nothing, since mail scanners
    prefetch links). No session needed. Errors: 400 `invalid_token`.
    """
    email = await recovery.verify_email(await db(), data.token)
    return json_response(EmailVerified(email=email).model_dump())
