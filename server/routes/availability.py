"""Availability rules beyond weekly hours: date overrides per service, time off per business."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import validate_request

from server.auth.session_user import require_user
from server.domain.availability import MAX_REASON_LENGTH
from server.domain.hours import MAX_DAY_INTERVALS
from server.edge.api_docs import errors, responds
from server.infra.jsonio import json_response
from server.infra.state import db
from server.routes import shapes
from server.routes.after_commit import run_after_commit
from server.usecases import availability as use_cases
from server.usecases.providers import require_provider
from server.usecases.services import parse_service_id

blueprint = Blueprint("availability", __name__)


Clock = Annotated[str, Field(pattern="^([01][0-9]|2[0-4]):[0-5][0-9]$")]
Interval = Annotated[list[Clock], Field(min_length=2, max_length=2)]
Moment = Annotated[
    str,
    Field(
        max_length=40,
        description="ISO 8601 date-time; without an offset, wall-clock time in the provider's "
        "zone (e.g. 2026-12-24T09:00).",
    ),
]


class DateOverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: list[Interval] = Field(
        max_length=MAX_DAY_INTERVALS,
        description='That date\'s open intervals, e.g. [["10:00", "14:00"]]; [] closes it.',
    )


class TimeOffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: Moment
    ends_at: Moment = Field(description="After starts_at.")
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


class DateOverride(BaseModel):
    date: str = Field(description="YYYY-MM-DD in the provider's zone.")
    hours: list[list[str]]


class DateOverrideApplied(BaseModel):
    override: DateOverride
    conflicts: list[shapes.Appointment] = Field(
        description="Bookings of that date now outside its hours (kept; the provider decides)."
    )


class DateOverrideList(BaseModel):
    overrides: list[DateOverride]


class TimeOff(BaseModel):
    id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class TimeOffAdded(BaseModel):
    time_off: TimeOff
    conflicts: list[shapes.Appointment] = Field(
        description="Bookings inside the time off (kept; the provider decides)."
    )


class TimeOffList(BaseModel):
    time_off: list[TimeOff]


def _now() -> datetime:
    return datetime.now(UTC)


@blueprint.put("/api/services/<service_id>/date-overrides/<date>")
@validate_request(DateOverrideRequest)
@responds(200, DateOverrideApplied)
@errors(401, 404, 422)
async def put_date_override(service_id: str, date: str, data: DateOverrideRequest) -> Response:
    """Give one date of your service its own hours ([] closes it); its free slots change at
    once, bookings stay and those outside the new hours come back as `conflicts`."""
    user = await require_user()
    applied = await use_cases.put_date_override(
        await db(),
        user.id,
        parse_service_id(service_id),
        date,
        data.hours,
        now=_now(),
    )
    await run_after_commit(applied.effects)
    return json_response(applied.to_json())


@blueprint.get("/api/services/<service_id>/date-overrides")
@responds(200, DateOverrideList)
@errors(401, 404)
async def get_date_overrides(service_id: str) -> Response:
    """Your service's date overrides from today on, by date."""
    user = await require_user()
    found = await use_cases.list_date_overrides(
        await db(), user.id, parse_service_id(service_id), now=_now()
    )
    return json_response({"overrides": [override.to_json() for override in found]})


@blueprint.delete("/api/services/<service_id>/date-overrides/<date>")
@responds(204, description="The date follows its weekday's hours again.")
@errors(401, 404, 422)
async def delete_date_override(service_id: str, date: str) -> Response:
    """Remove a date override: the weekday's hours apply again and its slots come back."""
    user = await require_user()
    effects = await use_cases.delete_date_override(
        await db(), user.id, parse_service_id(service_id), date, now=_now()
    )
    await run_after_commit(effects)
    return Response(status=204)


@blueprint.post("/api/providers/me/time-off")
@validate_request(TimeOffRequest)
@responds(201, TimeOffAdded)
@errors(401, 403, 422)
async def post_time_off(data: TimeOffRequest) -> Response:
    """Close the whole business over a span: every free slot overlapping it goes at once;
    bookings inside it stay and come back as `conflicts`."""
    provider = await require_provider()
    added = await use_cases.add_time_off(
        await db(), provider, data.starts_at, data.ends_at, data.reason, now=_now()
    )
    await run_after_commit(added.effects)
    return json_response(added.to_json(), 201)


@blueprint.get("/api/providers/me/time-off")
@responds(200, TimeOffList)
@errors(401, 403)
async def get_time_off() -> Response:
    """Your time off that has not ended yet, by start."""
    provider = await require_provider()
    found = await use_cases.list_time_off(await db(), provider, now=_now())
    zone = ZoneInfo(provider.timezone)
    return json_response({"time_off": [item.to_json(zone) for item in found]})


@blueprint.delete("/api/providers/me/time-off/<time_off_id>")
@responds(204, description="The time off is gone and its slots are offered again.")
@errors(401, 403, 404)
async def delete_time_off(time_off_id: str) -> Response:
    """Remove time off: the slots come back as hours, overrides and other time off allow."""
    provider = await require_provider()
    effects = await use_cases.remove_time_off(
        await db(), provider, use_cases.parse_time_off_id(time_off_id), now=_now()
    )
    await run_after_commit(effects)
    return Response(status=204)
