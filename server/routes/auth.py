"""Email and password accounts: sign up, sign in, sign out, who am I."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import validate_request

from realtime.publish import publish_sessions_revoked
from server.auth.accounts import authenticate, sign_up
from server.auth.rate_limit import LoginThrottle
from server.auth.session_user import end_session, require_user, start_session
from server.edge.api_docs import errors, responds
from server.edge.client_limits import SIGNUPS, limited_per_client
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import publisher, redis
from server.routes import documented_rules as rules
from server.routes import shapes
from server.routes.documented_rules import MAX_EMAIL_LENGTH, MAX_NAME_LENGTH

blueprint = Blueprint("auth", __name__)


class SignupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra=rules.EMAIL)
    password: str = Field(max_length=4096, json_schema_extra=rules.PASSWORD)
    name: str = Field(max_length=MAX_NAME_LENGTH, json_schema_extra=rules.NAME)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=4096)


@blueprint.post("/api/auth/signup")
@limited_per_client(SIGNUPS)
@validate_request(SignupRequest)
@responds(201, shapes.UserEnvelope)
@errors(409, 422)
async def post_signup(data: SignupRequest) -> Response:
    """Create an account with an email and a password and sign in."""
    user = await sign_up(email=data.email, password=data.password, name=data.name)
    await start_session(user)
    return json_response({"user": user.to_json()}, 201)


@blueprint.post("/api/auth/login")
@validate_request(LoginRequest)
@responds(200, shapes.UserEnvelope)
@errors(401, 429)
async def post_login(data: LoginRequest) -> Response:
    """Sign in with an email and a password. Repeated failures are rate limited."""
    throttle = LoginThrottle(redis(), request.remote_addr or "unknown", data.email.strip())
    await throttle.check()
    user = await authenticate(email=data.email, password=data.password)
    if user is None:
        await throttle.record_failure()
        raise APIError(401, "invalid_credentials", "Wrong email or password.")
    await throttle.record_success()
    await start_session(user)
    return json_response({"user": user.to_json()})


@blueprint.post("/api/auth/logout")
@responds(204, description="Signed out.")
@errors(403)
async def post_logout() -> Response:
    """Sign out: the session is deleted on the server, so the cookie stops working (and a
    dashboard socket opened with it closes with 4401)."""
    user_id = await end_session()
    if user_id is not None:
        await publish_sessions_revoked(publisher(), user_id)
    return Response(status=204)


@blueprint.get("/api/me")
@responds(200, shapes.UserEnvelope)
@errors(401)
async def get_me() -> Response:
    """The signed-in user."""
    user = await require_user()
    return json_response({"user": user.to_json()})
