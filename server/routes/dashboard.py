"""The provider dashboard's API: the day's schedule, bookings by status, and moving a booking."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import document_request, validate_querystring, validate_request

from server.domain.appointments import Move, Status
from server.domain.dates import parse_day
from server.domain.slots import local_today
from server.edge.api_docs import errors, responds
from server.edge.optional_body import optional_json_body
from server.infra.jsonio import json_response
from server.infra.state import db
from server.models.busy_times import select_busy_overlaps
from server.models.providers import Provider
from server.models.schedule import select_provider_appointments_by_status, select_provider_day
from server.routes import shapes
from server.routes.after_commit import run_after_commit
from server.usecases.provider_moves import move_provider_appointment
from server.usecases.providers import require_provider
from server.usecases.reschedules import reschedule_as_provider

blueprint = Blueprint("dashboard", __name__)

DEFAULT_LIST_LIMIT = 200
MAX_LIST_LIMIT = 500


# --- Shapes -------------------------------------------------------------------------------------


class ScheduleQuery(BaseModel):
    date: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        json_schema_extra={"format": "date"},
        description="A day (YYYY-MM-DD) in the provider's time zone; default today there.",
    )


class AppointmentsQuery(BaseModel):
    status: Status = Field(default=Status.PENDING, description="The status to list.")
    limit: int = Field(default=DEFAULT_LIST_LIMIT, ge=1, le=MAX_LIST_LIMIT)


class MoveBody(BaseModel):
    """Optional: the provider's reason, kept in the booking's history and told the customer."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class ScheduleItem(shapes.Appointment):
    busy_overlap: bool = Field(
        description="The booking overlaps a busy time of one of your own calendars (it is kept)."
    )


class ScheduleBody(BaseModel):
    date: dt.date = Field(description="The day shown, in the provider's time zone.")
    appointments: list[ScheduleItem]


def _now() -> datetime:
    return datetime.now(UTC)


# --- Reading ------------------------------------------------------------------------------------


@blueprint.get("/api/dashboard/schedule")
@validate_querystring(ScheduleQuery)
@responds(200, ScheduleBody)
@errors(401, 403, 422)
async def get_schedule(query_args: ScheduleQuery) -> Response:
    """The signed-in provider's bookings on one day, all services, ordered by start time.

    Every booked appointment is listed whatever its status: cancelled and rejected ones stay
    on the provider's record (their time is offered again as a separate free slot, which is
    not listed). `date` defaults to today in the provider's time zone.
    """
    provider = await require_provider()
    day = _schedule_day(query_args.date, provider)
    conn = await db()
    found = await select_provider_day(conn, provider.id, day)
    overlapping = await select_busy_overlaps(
        conn,
        provider.id,
        [item.id for item in found if item.status in (Status.PENDING, Status.CONFIRMED)],
    )
    items = [{**item.to_json(), "busy_overlap": item.id in overlapping} for item in found]
    return json_response({"date": day.isoformat(), "appointments": items})


def _schedule_day(raw: str | None, provider: Provider) -> dt.date:
    if raw is None:
        return local_today(_now(), ZoneInfo(provider.timezone))
    return parse_day(raw)


@blueprint.get("/api/dashboard/appointments")
@validate_querystring(AppointmentsQuery)
@responds(200, shapes.AppointmentList)
@errors(401, 403, 422)
async def get_appointments_by_status(query_args: AppointmentsQuery) -> Response:
    """The signed-in provider's bookings with `status` (default PENDING), soonest first."""
    provider = await require_provider()
    found = await select_provider_appointments_by_status(
        await db(), provider.id, query_args.status, limit=query_args.limit
    )
    return json_response({"appointments": [item.to_json() for item in found]})


# --- Moving a booking ---------------------------------------------------------------------------


async def _move(appointment_id: UUID, move: Move) -> Response:
    provider = await require_provider()
    reason = _clean_reason((await optional_json_body(MoveBody)).reason)
    result = await move_provider_appointment(
        await db(), provider, appointment_id, move, reason=reason, now=_now()
    )
    await run_after_commit(result.effects)
    return json_response({"appointment": result.after.to_json()})


def _clean_reason(reason: str | None) -> str | None:
    stripped = (reason or "").strip()
    return stripped or None


@blueprint.post("/api/appointments/<uuid:appointment_id>/confirm")
@document_request(MoveBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(400, 403, 404, 409, 422)
async def post_confirm(appointment_id: UUID) -> Response:
    """Accept a PENDING booking request: it becomes CONFIRMED."""
    return await _move(appointment_id, Move.CONFIRM)


@blueprint.post("/api/appointments/<uuid:appointment_id>/reject")
@document_request(MoveBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(400, 403, 404, 409, 422)
async def post_reject(appointment_id: UUID) -> Response:
    """Turn down a PENDING booking request: it becomes REJECTED, the time is offered again and
    a paid booking is refunded."""
    return await _move(appointment_id, Move.REJECT)


@blueprint.post("/api/appointments/<uuid:appointment_id>/cancel")
@document_request(MoveBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(400, 403, 404, 409, 422)
async def post_cancel(appointment_id: UUID) -> Response:
    """Cancel a PENDING or CONFIRMED booking: the time is offered again and a paid booking is
    refunded."""
    return await _move(appointment_id, Move.CANCEL)


@blueprint.post("/api/appointments/<uuid:appointment_id>/complete")
@document_request(MoveBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(400, 403, 404, 409, 422)
async def post_complete(appointment_id: UUID) -> Response:
    """Mark a CONFIRMED booking as COMPLETED, once its start time has passed."""
    return await _move(appointment_id, Move.COMPLETE)


@blueprint.post("/api/appointments/<uuid:appointment_id>/no-show")
@document_request(MoveBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(400, 403, 404, 409, 422)
async def post_no_show(appointment_id: UUID) -> Response:
    """Mark a CONFIRMED booking as NO_SHOW (the customer did not come), once its start time
    has passed."""
    return await _move(appointment_id, Move.NO_SHOW)


@blueprint.post("/api/appointments/<uuid:appointment_id>/reschedule")
@validate_request(shapes.RescheduleBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(403, 404, 409, 422)
async def post_reschedule(appointment_id: UUID, data: shapes.RescheduleBody) -> Response:
    """Move a PENDING or CONFIRMED booking to another free time of the same service.

    It keeps its id, status and payment and takes the new slot's time and token; the old time
    is offered again, and the customer gets an e-mail with an updated calendar event. Until the
    appointment starts (409 `too_late_to_reschedule`); 409 `slot_taken`, `too_late_to_book`,
    `invalid_transition`; 422 `other_service`; 404 `slot_not_found`.
    """
    provider = await require_provider()
    result = await reschedule_as_provider(
        await db(), provider, appointment_id, data.slot_id, now=_now()
    )
    await run_after_commit(result.effects)
    return json_response({"appointment": result.after.to_json()})
