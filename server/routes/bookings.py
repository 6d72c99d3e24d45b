"""Bookings: book a slot (or the day's next free one), read, cancel and move one's own booking."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import document_querystring, validate_headers, validate_request

from server.auth.session_user import optional_user, require_user
from server.domain.bookings import clean_customer_details
from server.domain.dates import parse_day
from server.edge.api_docs import errors, responds
from server.edge.client_limits import BOOKINGS, limited_per_client
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import config, db, release_db
from server.models.appointments import select_customer_appointments
from server.routes import documented_rules as rules
from server.routes import shapes
from server.routes.after_commit import run_after_commit
from server.routes.customer_fields import CustomerFields
from server.usecases import bookings as use_cases
from server.usecases.appointments import parse_appointment_id
from server.usecases.reschedules import reschedule_as_customer

blueprint = Blueprint("bookings", __name__)


class BookingBody(CustomerFields):
    """Book `slot_id`, or (queue mode) the earliest free slot of `service_id` on `date`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=rules.one_of_slot_or_queue())

    slot_id: UUID | None = None
    service_id: UUID | None = None
    date: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        json_schema_extra={"format": "date"},
        description="A day (YYYY-MM-DD) in the provider's time zone, for queue mode.",
    )
    notes: str | None = Field(default=None, max_length=2000)


class BookingHeaders(BaseModel):
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Makes retries safe: the same key and body within 24 hours books once.",
    )


class ManageKeyQuery(BaseModel):
    key: str | None = Field(
        default=None, description="The manage key from the booking's link (guests need it)."
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _booking_request(data: BookingBody) -> use_cases.BookingRequest:
    customer = clean_customer_details(
        name=data.customer_name,
        email=data.customer_email,
        phone=data.customer_phone,
        notes=data.notes,
        timezone=data.customer_timezone,
    )
    if data.slot_id is not None and data.service_id is None and data.date is None:
        return use_cases.BookingRequest(customer=customer, slot_id=data.slot_id)
    if data.slot_id is None and data.service_id is not None and data.date is not None:
        return use_cases.BookingRequest(
            customer=customer, service_id=data.service_id, day=parse_day(data.date)
        )
    raise APIError(
        422,
        "validation_error",
        "Give either slot_id, or service_id and date.",
        fields={"slot_id": "Either slot_id, or service_id with date."},
    )


@blueprint.post("/api/bookings")
@limited_per_client(BOOKINGS)
@validate_request(BookingBody)
@validate_headers(BookingHeaders)
@responds(201, shapes.BookingCreated)
@errors(404, 409, 422)
async def post_booking(data: BookingBody, headers: BookingHeaders) -> Response:
    """Book a slot, as a guest or signed in.

    Exactly one of any number of concurrent requests for a slot wins; the rest get 409
    `slot_taken`. With a price, Stripe configured and a provider who can take charges, the
    answer carries a Stripe Checkout URL and the slot is held for HOLD_MINUTES.
    """
    booking = _booking_request(data)
    user = await optional_user()
    key = None
    if headers.idempotency_key is not None:
        key = use_cases.IdempotencyKey(
            key=headers.idempotency_key,
            request_hash=use_cases.request_hash(data.model_dump(mode="json")),
        )
    outcome = await use_cases.book(
        use_cases.Database(connection=db, release=release_db),
        booking,
        customer_user_id=None if user is None else user.id,
        idempotency_key=key,
        settings=config(),
        now=_now(),
    )
    # The pool's connections are what 200 racing customers queue for: give this one back
    # before publishing.
    await release_db()
    await run_after_commit(outcome.effects)
    if outcome.error is not None:
        raise outcome.error
    return json_response(outcome.body, outcome.status)


@blueprint.get("/api/bookings/<appointment_id>")
@document_querystring(ManageKeyQuery)
@responds(200, shapes.AppointmentEnvelope)
@errors(404)
async def get_booking(appointment_id: str) -> Response:
    """A customer's booking: with the manage key from its link, or signed in as its customer."""
    user = await optional_user()
    appointment = await use_cases.get_booking(
        await db(),
        parse_appointment_id(appointment_id),
        manage_key=request.args.get("key"),
        user_id=None if user is None else user.id,
    )
    return json_response({"appointment": appointment.to_json()})


@blueprint.post("/api/bookings/<appointment_id>/cancel")
@document_querystring(ManageKeyQuery)
@responds(200, shapes.AppointmentEnvelope)
@errors(404, 409)
async def post_booking_cancel(appointment_id: str) -> Response:
    """Cancel your booking: it stays on record as CANCELLED and its time is offered again.

    Only until the service's cancel cut-off before the start (and never once it has started):
    later, 409 `too_late_to_cancel`.
    """
    user = await optional_user()
    result = await use_cases.cancel_booking(
        await db(),
        parse_appointment_id(appointment_id),
        manage_key=request.args.get("key"),
        user_id=None if user is None else user.id,
        now=_now(),
    )
    await run_after_commit(result.effects)
    return json_response({"appointment": result.after.to_json()})


@blueprint.post("/api/bookings/<appointment_id>/reschedule")
@document_querystring(ManageKeyQuery)
@validate_request(shapes.RescheduleBody)
@responds(200, shapes.AppointmentEnvelope)
@errors(404, 409, 422)
async def post_booking_reschedule(appointment_id: str, data: shapes.RescheduleBody) -> Response:
    """Move your booking to another free time of the same service.

    The booking keeps its id, link and payment, takes the new slot's time and token, and waits
    for the provider to confirm the new time (PENDING). Until the service's cut-off before the
    current start: later, 409 `too_late_to_reschedule`. 409 `slot_taken` when the time went,
    `too_late_to_book` inside its minimum notice, `invalid_transition` for an ended booking;
    422 `other_service`; 404 `slot_not_found`.
    """
    user = await optional_user()
    result = await reschedule_as_customer(
        await db(),
        parse_appointment_id(appointment_id),
        data.slot_id,
        manage_key=request.args.get("key"),
        user_id=None if user is None else user.id,
        now=_now(),
    )
    await run_after_commit(result.effects)
    return json_response({"appointment": result.after.to_json()})


@blueprint.get("/api/me/bookings")
@responds(200, shapes.AppointmentList)
@errors(401)
async def get_my_bookings() -> Response:
    """The signed-in customer's bookings, soonest first."""
    user = await require_user()
    found = await select_customer_appointments(await db(), user.id)
    return json_response({"appointments": [appointment.to_json() for appointment in found]})
