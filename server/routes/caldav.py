"""The provider's CalDAV calendar: connect, read its status, test it, disconnect."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import validate_request

from server.calendars.caldav_client import (
    CalDAVLogin,
    CalDAVRefused,
    CalDAVUnreachable,
    check_calendar,
)
from server.calendars.public_urls import check_public_host, check_url_syntax
from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.secret_box import SecretUnreadable
from server.infra.state import config, db, release_db
from server.models import caldav as rows
from server.models.caldav import CalDAVAccount
from server.routes.after_commit import run_after_commit
from server.usecases.busy_times import clear_busy_source
from server.usecases.caldav import BUSY_SOURCE, connected_effects, login_for, save_account
from server.usecases.providers import require_provider

blueprint = Blueprint("caldav", __name__)

# What check_url_syntax accepts, stated for the document: http(s), a host, a port up to 65535.
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = rf"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:{_PORT})?(/[A-Za-z0-9._~%/-]*)?$"


class CalDAVRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=URL_PATTERN,
        description="The calendar collection's http(s) URL (no user:password in it).",
    )
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000, description="Stored encrypted.")


class CalDAVStatus(BaseModel):
    url: str
    username: str
    last_synced_at: datetime | None
    last_error: str | None


class CalDAVEnvelope(BaseModel):
    caldav: CalDAVStatus


async def _checked(login: CalDAVLogin) -> None:
    """Connect once (in production only to a public address); 422 with what is wrong:
    `caldav_refused` (the server said no) or `caldav_unreachable` (no server answered)."""
    if config().app_env == "production":
        await check_public_host(login.url)  # 422 address_not_allowed / unknown_host
    try:
        await check_calendar(login)
    except CalDAVRefused as error:
        raise APIError(422, "caldav_refused", f"The calendar refused: {error}.") from error
    except CalDAVUnreachable as error:
        raise APIError(
            422,
            "caldav_unreachable",
            "The CalDAV server did not answer: check the URL, or try again if it is down.",
            fields={"url": "No CalDAV server answered at this address."},
        ) from error


def _envelope(account: CalDAVAccount) -> Response:
    return json_response({"caldav": account.to_json()})


@blueprint.put("/api/providers/me/caldav")
@validate_request(CalDAVRequest)
@responds(200, CalDAVEnvelope)
@errors(401, 403, 422)
async def put_caldav(data: CalDAVRequest) -> Response:
    """Connect your CalDAV calendar: checked once now, then every booking is written there and
    its own events block your free times. The password is stored encrypted, never shown."""
    provider = await require_provider()
    await release_db()  # no pooled connection waits on the outside server
    login = CalDAVLogin(check_url_syntax(data.url), data.username, data.password)
    await _checked(login)
    account = await save_account(await db(), provider.id, login, config())
    await run_after_commit(connected_effects())
    return _envelope(account)


@blueprint.get("/api/providers/me/caldav")
@responds(200, CalDAVEnvelope)
@errors(401, 403, 404)
async def get_caldav() -> Response:
    """Your CalDAV calendar and how its last sync went (404 when none is connected)."""
    provider = await require_provider()
    account = await rows.select_account(await db(), provider.id)
    if account is None:
        raise APIError(404, "not_found", "No CalDAV calendar is connected.")
    return _envelope(account)


@blueprint.post("/api/providers/me/caldav/test")
@responds(200, CalDAVEnvelope)
@errors(401, 403, 404)
async def post_caldav_test() -> Response:
    """Connect to your CalDAV calendar now; its `last_error` says what went wrong, if anything."""
    provider = await require_provider()
    account = await rows.select_account(await db(), provider.id)
    if account is None:
        raise APIError(404, "not_found", "No CalDAV calendar is connected.")
    await release_db()
    error: str | None = None
    try:
        await check_calendar(login_for(account, config()))
    except (CalDAVRefused, CalDAVUnreachable, SecretUnreadable) as failure:
        error = str(failure)
    conn = await db()
    await rows.record_check(conn, account, error)
    fresh = await rows.select_account(conn, provider.id)
    return _envelope(fresh or account)


@blueprint.delete("/api/providers/me/caldav")
@responds(204)
@errors(401, 403, 404)
async def delete_caldav() -> Response:
    """Disconnect your CalDAV calendar: nothing more is written there, its busy times go."""
    provider = await require_provider()
    conn = await db()
    async with conn.transaction():
        deleted = await rows.delete_account(conn, provider.id)
        effects = await clear_busy_source(conn, provider.id, BUSY_SOURCE, datetime.now(UTC))
    if not deleted:
        raise APIError(404, "not_found", "No CalDAV calendar is connected.")
    await run_after_commit(effects)
    return Response(status=204)
