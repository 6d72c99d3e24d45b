"""Services and their slots: create, change, delete, search, read."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from quart import Blueprint, Response, request
from quart_schema import document_querystring, validate_request

from server.auth.session_user import require_user
from server.domain.hours import DAYS
from server.domain.services import (
    MAX_BUFFER_MINUTES,
    MAX_CANCEL_CUTOFF_MINUTES,
    MAX_HORIZON_DAYS,
    MAX_NOTICE_MINUTES,
    MAX_PRICE_CENTS,
)
from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import config, db
from server.models.service_search import SearchFilters, search_services
from server.models.services import Service, select_provider_services
from server.routes import shapes
from server.routes.after_commit import run_after_commit
from server.usecases import services as use_cases
from server.usecases.providers import require_provider

blueprint = Blueprint("services", __name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_QUERY_LENGTH = 200
MAX_OFFSET = 1_000_000
DAY_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Weekly hours: {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], …}; checked in detail by
# server.domain.hours so each bad day or interval gets its own message. The document states the
# same rules (a day's intervals must also not overlap, and "24:00" may only end one).
Hours = Annotated[
    dict[str, list[list[str]]],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"enum": list(DAYS)},
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 2,
                    "items": {"type": "string", "pattern": "^([01][0-9]|2[0-4]):[0-5][0-9]$"},
                },
            },
            "description": "Open intervals per weekday in the provider's zone; missing = closed.",
        }
    ),
]
# The same bounds server.domain.services enforces, stated where the document can show them.
Name = Annotated[str, Field(max_length=200)]
Description = Annotated[str, Field(max_length=5000)]
Category = Annotated[str, Field(max_length=100)]
Location = Annotated[str, Field(max_length=300)]
PriceCents = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_CENTS)]
Currency = Annotated[str, Field(pattern="^[A-Za-z]{3}$", description="ISO 4217, e.g. GBP.")]
DurationMinutes = Annotated[StrictInt, Field(ge=5, le=480)]
DailyCap = Annotated[StrictInt, Field(ge=1, le=500)]
BufferMinutes = Annotated[
    StrictInt,
    Field(ge=0, le=MAX_BUFFER_MINUTES, description="Minutes left free after each slot."),
]
NoticeMinutes = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_NOTICE_MINUTES,
        description="A slot starting sooner than this from now cannot be booked.",
    ),
]
HorizonDays = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=MAX_HORIZON_DAYS,
        description="How many days ahead slots exist; null or left out: SLOT_HORIZON_DAYS.",
    ),
]
CancelCutoffMinutes = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_CANCEL_CUTOFF_MINUTES,
        description="Customers may cancel or reschedule until this long before the start.",
    ),
]


class ServiceCreate(BaseModel):
    """Types and bounds are checked here; server.domain.services normalises and checks the rest."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    price_cents: PriceCents
    currency: Currency
    duration_minutes: DurationMinutes
    max_appointments_per_day: DailyCap
    hours: Hours
    category: Category | None = None
    location: Location | None = None
    buffer_minutes: BufferMinutes = 0
    min_notice_minutes: NoticeMinutes = 0
    horizon_days: HorizonDays | None = None
    cancel_cutoff_minutes: CancelCutoffMinutes = 0


class ServiceChanges(BaseModel):
    """Any subset of a service's fields; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    # Left out means unchanged; only category, location and horizon_days (back to
    # SLOT_HORIZON_DAYS) may be set to null.
    name: Name | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    price_cents: PriceCents | SkipJsonSchema[None] = None
    currency: Currency | SkipJsonSchema[None] = None
    duration_minutes: DurationMinutes | SkipJsonSchema[None] = None
    max_appointments_per_day: DailyCap | SkipJsonSchema[None] = None
    hours: Hours | SkipJsonSchema[None] = None
    category: Category | None = None
    location: Location | None = None
    buffer_minutes: BufferMinutes | SkipJsonSchema[None] = None
    min_notice_minutes: NoticeMinutes | SkipJsonSchema[None] = None
    horizon_days: HorizonDays | None = None
    cancel_cutoff_minutes: CancelCutoffMinutes | SkipJsonSchema[None] = None


class ServiceSearchQuery(BaseModel):
    q: str | None = Field(
        default=None,
        max_length=MAX_QUERY_LENGTH,
        description="Words to look for in the name, description, category and provider.",
    )
    category: str | None = Field(default=None, description="Only this category (any case).")
    near: str | None = Field(
        default=None,
        max_length=MAX_QUERY_LENGTH,
        description="Only services whose location holds this text, typo tolerant (a city, a "
        "street).",
    )
    available_on: date | None = Field(
        default=None,
        description="Only services with a free, bookable slot on this day (YYYY-MM-DD, the "
        "provider's day).",
    )
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class SlotRangeQuery(BaseModel):
    # The wire names are `from` and `to`; a Python keyword cannot be a field name.
    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(
        default=None, alias="from", description="First day, provider-local; default today."
    )
    to: date | None = Field(
        default=None, description="Last day; default six days after `from`; at most 62 days."
    )


def _given_fields(data: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent, nulls included (so a null can be refused)."""
    return {name: getattr(data, name) for name in data.model_fields_set}


def _now() -> datetime:
    return datetime.now(UTC)


def service_json(service: Service) -> dict[str, Any]:
    """The contract's Service, with the effective horizon (its own or SLOT_HORIZON_DAYS)."""
    return service.to_json(default_horizon_days=config().slot_horizon_days)


@blueprint.post("/api/services")
@validate_request(ServiceCreate)
@responds(201, shapes.ServiceEnvelope)
@errors(401, 403, 422)
async def post_service(data: ServiceCreate) -> Response:
    """Offer a new service; its slots for the next horizon_days (default SLOT_HORIZON_DAYS) days
    exist on return."""
    provider = await require_provider()
    created = await use_cases.create_service(
        await db(),
        provider,
        _given_fields(data),
        now=_now(),
        horizon_days=config().slot_horizon_days,
    )
    await run_after_commit(created.effects)
    return json_response({"service": service_json(created.service)}, 201)


@blueprint.patch("/api/services/<service_id>")
@validate_request(ServiceChanges)
@responds(200, shapes.ServiceEnvelope)
@errors(401, 404, 422)
async def patch_service(service_id: str, data: ServiceChanges) -> Response:
    """Change any of your service's fields; new hours, duration, cap, buffer or horizon replace
    future free slots."""
    user = await require_user()
    changed = await use_cases.update_service(
        await db(),
        user.id,
        use_cases.parse_service_id(service_id),
        _given_fields(data),
        now=_now(),
        horizon_days=config().slot_horizon_days,
    )
    await run_after_commit(changed.effects)
    return json_response({"service": service_json(changed.service)})


@blueprint.delete("/api/services/<service_id>")
@responds(204, description="The service is no longer offered.")
@errors(401, 404)
async def delete_service(service_id: str) -> Response:
    """Stop offering your service: it leaves search and booking; existing bookings stay."""
    user = await require_user()
    effects = await use_cases.delete_service(
        await db(), user.id, use_cases.parse_service_id(service_id), now=_now()
    )
    await run_after_commit(effects)
    return Response(status=204)


@blueprint.get("/api/services")
@document_querystring(ServiceSearchQuery)
@responds(200, shapes.ServicePage)
@errors(422)
async def get_services() -> Response:
    """Search active services by name, description, category and provider (typo tolerant, best
    first), optionally only of a category, near a place, or with a free slot on a day; `total`
    is exact up to 1,000, beyond which `total_is_estimate` is true. A search by text ranks its
    best 1,000 positions: a page past them is empty. Without text, services are listed newest
    first."""
    query = _text_arg("q", "The search text is too long.")
    filters = SearchFilters(
        category=(request.args.get("category") or "").strip() or None,
        near=_text_arg("near", "The place is too long."),
        available_on=_date_arg("available_on"),
        now=_now(),
    )
    limit = _int_arg("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = _int_arg("offset", 0, 0, MAX_OFFSET)
    page = await search_services(
        await db(), query=query, filters=filters, limit=limit, offset=offset
    )
    return json_response(
        {
            "services": [service_json(service) for service in page.services],
            "total": page.total,
            "total_is_estimate": page.total_is_estimate,
        }
    )


def _text_arg(name: str, too_long: str) -> str | None:
    """The argument's text, trimmed; None when missing or blank."""
    raw = request.args.get(name) or ""
    if len(raw) > MAX_QUERY_LENGTH:
        raise APIError(
            422,
            "validation_error",
            too_long,
            fields={name: f"At most {MAX_QUERY_LENGTH} characters."},
        )
    return raw.strip() or None


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        # Exactly YYYY-MM-DD: date.fromisoformat alone would also take "20261201".
        if not DAY_PATTERN.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise APIError(
            422,
            "validation_error",
            f"{name} must be a date in the form YYYY-MM-DD.",
            fields={name: "A date in the form YYYY-MM-DD."},
        ) from None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # Plain digits only: int() would also take " 5", "+5" and "1_0", which are not integers.
    value = int(raw) if raw.isascii() and raw.isdigit() else low - 1
    if not low <= value <= high:
        raise APIError(
            422,
            "validation_error",
            f"{name} must be a whole number from {low} to {high}.",
            fields={name: f"A whole number from {low} to {high}."},
        )
    return value


@blueprint.get("/api/services/<service_id>")
@responds(200, shapes.ServiceEnvelope)
@errors(404)
async def get_service(service_id: str) -> Response:
    """One service (a deleted one still answers, with is_active false)."""
    service = await use_cases.get_service(await db(), use_cases.parse_service_id(service_id))
    return json_response({"service": service_json(service)})


@blueprint.get("/api/services/<service_id>/slots")
@document_querystring(SlotRangeQuery)
@responds(200, shapes.SlotList)
@errors(404, 422)
async def get_service_slots(service_id: str) -> Response:
    """Slots by start time for provider-local days `from`..`to` (default a week from today)."""
    slots_json = await use_cases.list_slots(
        await db(),
        use_cases.parse_service_id(service_id),
        request.args.get("from"),
        request.args.get("to"),
        now=_now(),
    )
    return Response(f'{{"slots":{slots_json}}}', content_type="application/json")


@blueprint.get("/api/providers/me/services")
@responds(200, shapes.ServiceList)
@errors(401, 403)
async def get_my_services() -> Response:
    """The signed-in provider's own services, inactive (deleted) ones included."""
    provider = await require_provider()
    services = await select_provider_services(await db(), provider.id)
    return json_response({"services": [service_json(service) for service in services]})
