"""Services and their slots: create, change, delete, search, read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt
from quart import Blueprint, Response, request
from quart_schema import validate_request

from server.auth.session_user import require_user
from server.infra.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import config, db, redis
from server.models.service_search import search_services
from server.models.services import select_provider_services
from server.usecases import services as use_cases
from server.usecases.providers import require_provider

blueprint = Blueprint("services", __name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_QUERY_LENGTH = 200

# Weekly hours: {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], …}; checked in detail by
# server.domain.hours so each bad day or interval gets its own message.
Hours = dict[str, list[list[str]]]


class ServiceCreate(BaseModel):
    """Lengths, ranges and formats are checked by server.domain.services."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    price_cents: StrictInt
    currency: str
    duration_minutes: StrictInt
    max_appointments_per_day: StrictInt
    hours: Hours
    category: str | None = None
    location: str | None = None


class ServiceChanges(BaseModel):
    """Any subset of a service's fields; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    price_cents: StrictInt | None = None
    currency: str | None = None
    duration_minutes: StrictInt | None = None
    max_appointments_per_day: StrictInt | None = None
    hours: Hours | None = None
    category: str | None = None
    location: str | None = None


def _given_fields(data: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent, nulls included (so a null can be refused)."""
    return {name: getattr(data, name) for name in data.model_fields_set}


def _now() -> datetime:
    return datetime.now(UTC)


@blueprint.post("/api/services")
@validate_request(ServiceCreate)
async def post_service(data: ServiceCreate) -> Response:
    """Offer a new service; its slots for the next SLOT_HORIZON_DAYS days exist on return."""
    provider = await require_provider()
    service = await use_cases.create_service(
        await db(),
        redis(),
        provider,
        _given_fields(data),
        now=_now(),
        horizon_days=config().slot_horizon_days,
    )
    return json_response({"service": service.to_json()}, 201)


@blueprint.patch("/api/services/<service_id>")
@validate_request(ServiceChanges)
async def patch_service(service_id: str, data: ServiceChanges) -> Response:
    """Change any of your service's fields; new hours, duration or cap replace future free slots."""
    user = await require_user()
    service = await use_cases.update_service(
        await db(),
        redis(),
        user.id,
        use_cases.parse_service_id(service_id),
        _given_fields(data),
        now=_now(),
        horizon_days=config().slot_horizon_days,
    )
    return json_response({"service": service.to_json()})


@blueprint.delete("/api/services/<service_id>")
async def delete_service(service_id: str) -> Response:
    """Stop offering your service: it leaves search and booking; existing bookings stay."""
    user = await require_user()
    await use_cases.delete_service(
        await db(), redis(), user.id, use_cases.parse_service_id(service_id), now=_now()
    )
    return Response(status=204)


@blueprint.get("/api/services")
async def get_services() -> Response:
    """Search active services by name, description, category and provider (typo tolerant)."""
    query = (request.args.get("q") or "").strip() or None
    if query is not None and len(query) > MAX_QUERY_LENGTH:
        raise APIError(
            422,
            "validation_error",
            "The search text is too long.",
            fields={"q": f"At most {MAX_QUERY_LENGTH} characters."},
        )
    category = (request.args.get("category") or "").strip() or None
    limit = _int_arg("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = _int_arg("offset", 0, 0, 1_000_000)
    page = await search_services(
        await db(), query=query, category=category, limit=limit, offset=offset
    )
    return json_response(
        {"services": [service.to_json() for service in page.services], "total": page.total}
    )


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise APIError(
            422,
            "validation_error",
            f"{name} must be a whole number from {low} to {high}.",
            fields={name: f"A whole number from {low} to {high}."},
        )
    return value


@blueprint.get("/api/services/<service_id>")
async def get_service(service_id: str) -> Response:
    """One service (a deleted one still answers, with is_active false)."""
    service = await use_cases.get_service(await db(), use_cases.parse_service_id(service_id))
    return json_response({"service": service.to_json()})


@blueprint.get("/api/services/<service_id>/slots")
async def get_service_slots(service_id: str) -> Response:
    """Slots by start time for provider-local days `from`..`to` (default a week from today)."""
    service, slots = await use_cases.list_slots(
        await db(),
        use_cases.parse_service_id(service_id),
        request.args.get("from"),
        request.args.get("to"),
        now=_now(),
    )
    zone = service.provider.zone
    return json_response({"slots": [slot.to_json(zone) for slot in slots]})


@blueprint.get("/api/providers/me/services")
async def get_my_services() -> Response:
    """The signed-in provider's own services, inactive (deleted) ones included."""
    provider = await require_provider()
    services = await select_provider_services(await db(), provider.id)
    return json_response({"services": [service.to_json() for service in services]})
