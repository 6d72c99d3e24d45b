"""Calendars (provider): the subscription feed's secret URL and body, and the busy calendars."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import validate_request

from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import config, db
from server.routes.after_commit import run_after_commit
from server.usecases import busy_calendars, calendar_feed
from server.usecases.busy_calendars import MAX_CALENDARS
from server.usecases.providers import require_provider

blueprint = Blueprint("calendars", __name__)


class CalendarFeed(BaseModel):
    url: str = Field(
        description="BASE_URL/calendar/TOKEN.ics: subscribe to it in any calendar app. The token "
        "is a secret; rotate it if it leaked."
    )


class BusyCalendarsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(
        max_length=MAX_CALENDARS,
        description="The secret iCal addresses (http or https) of your Google, Outlook or "
        "iCloud calendars; [] removes them all.",
    )


class BusyCalendar(BaseModel):
    url: str
    last_synced_at: datetime | None = Field(description="The last successful fetch.")
    last_error: str | None = Field(description="Why the last fetch failed (null when it did not).")


class BusyCalendars(BaseModel):
    busy_calendars: list[BusyCalendar]


def _now() -> datetime:
    return datetime.now(UTC)


@blueprint.get("/api/providers/me/calendar-feed")
@responds(200, CalendarFeed)
@errors(401, 403)
async def get_calendar_feed() -> Response:
    """Your calendar feed's URL (made on the first call)."""
    provider = await require_provider()
    url = await calendar_feed.get_feed_url(await db(), config(), provider)
    return _no_store(json_response({"url": url}))


@blueprint.post("/api/providers/me/calendar-feed/rotate")
@responds(200, CalendarFeed)
@errors(401, 403)
async def rotate_calendar_feed() -> Response:
    """A new feed URL; the old one answers 404 from now on."""
    provider = await require_provider()
    url = await calendar_feed.rotate_feed_url(await db(), config(), provider)
    return _no_store(json_response({"url": url}))


@blueprint.get("/calendar/<string:token>.ics")
@responds(200, description="text/calendar: the provider's pending and confirmed appointments.")
@responds(304, description="Not modified since the ETag / date given.")
@errors(404)
async def get_calendar(token: str) -> Response:
    """The calendar feed (no sign-in: the token is the key). Send If-None-Match or
    If-Modified-Since to get 304 when nothing changed."""
    found = await calendar_feed.render_feed(await db(), token, _now())
    if found is None:
        raise APIError(404, "calendar_not_found", "There is no such calendar.")
    headers = {
        "ETag": found.etag,
        "Cache-Control": "private, max-age=300",
        "Referrer-Policy": "no-referrer",
    }
    if found.last_modified is not None:
        headers["Last-Modified"] = format_datetime(found.last_modified.astimezone(UTC), usegmt=True)
    if _not_modified(found.etag, found.last_modified):
        return Response(status=304, headers=headers)
    return Response(
        found.body, status=200, content_type="text/calendar; charset=utf-8", headers=headers
    )


def _not_modified(etag: str, last_modified: datetime | None) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        given = [part.strip().removeprefix("W/") for part in if_none_match.split(",")]
        return etag in given or "*" in given
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


@blueprint.get("/api/providers/me/busy-calendars")
@responds(200, BusyCalendars)
@errors(401, 403)
async def get_busy_calendars() -> Response:
    """Your busy calendars with their last sync and last error."""
    provider = await require_provider()
    found = await busy_calendars.list_busy_calendars(await db(), provider)
    return json_response({"busy_calendars": [calendar.to_json() for calendar in found]})


@blueprint.put("/api/providers/me/busy-calendars")
@validate_request(BusyCalendarsRequest)
@responds(200, BusyCalendars)
@errors(401, 403, 422)
async def put_busy_calendars(data: BusyCalendarsRequest) -> Response:
    """Set your busy calendars (at most five): the worker fetches new ones at once and all of
    them every BUSY_SYNC_MINUTES; free slots overlapping their events become unavailable."""
    provider = await require_provider()
    done = await busy_calendars.put_busy_calendars(
        await db(), config(), provider, data.urls, now=_now()
    )
    await run_after_commit(done.effects)
    return json_response({"busy_calendars": [calendar.to_json() for calendar in done.calendars]})


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
