"""A provider's webhooks: POST/GET /api/providers/me/webhooks, DELETE …/{id},
GET …/{id}/deliveries (API.md "Calendars and webhooks")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import validate_request

from server.edge.api_docs import errors, responds
from server.infra.jsonio import json_response
from server.infra.state import app_state, db
from server.usecases import webhooks as use_cases
from server.usecases.providers import require_provider
from server.webhooks.urls import MAX_URL_LENGTH

blueprint = Blueprint("provider_webhooks", __name__)

# http(s), a host name or address, an optional port, then anything without spaces.
URL_PATTERN = r"^https?://([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?#]\S*)?$"

Event = Literal[
    "booking.created",
    "booking.paid",
    "booking.confirmed",
    "booking.rejected",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.completed",
    "booking.no_show",
]


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        pattern=URL_PATTERN,
        description="http:// or https://; in production a public address.",
    )
    events: list[Event] = Field(min_length=1, max_length=8)


class Webhook(BaseModel):
    id: UUID
    url: str
    events: list[Event]
    created_at: datetime


class CreatedWebhook(Webhook):
    secret: str = Field(description="The signing secret, shown this once.")


class WebhookCreated(BaseModel):
    webhook: CreatedWebhook


class WebhookList(BaseModel):
    webhooks: list[Webhook]


class Delivery(BaseModel):
    id: UUID = Field(description="The event id the receiver saw (the same on every attempt).")
    event: Event
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_status: int | None
    created_at: datetime


class DeliveryList(BaseModel):
    deliveries: list[Delivery]


@blueprint.post("/api/providers/me/webhooks")
@validate_request(WebhookRequest)
@responds(201, WebhookCreated)
@errors(401, 403, 422)
async def post_webhook(data: WebhookRequest) -> Response:
    """Add a webhook: every booking change of the chosen `events` is POSTed to `url`, signed
    with the `secret` in this answer (shown only now)."""
    provider = await require_provider()
    created = await use_cases.add_webhook(
        await db(), provider, data.url, list(data.events), app_state().config
    )
    return json_response(created.to_json(), 201)


@blueprint.get("/api/providers/me/webhooks")
@responds(200, WebhookList)
@errors(401, 403)
async def get_webhooks() -> Response:
    """Your webhooks, oldest first (without their secrets)."""
    provider = await require_provider()
    found = await use_cases.list_webhooks(await db(), provider)
    return json_response({"webhooks": [webhook.to_json() for webhook in found]})


@blueprint.delete("/api/providers/me/webhooks/<webhook_id>")
@responds(204, description="The webhook is gone; its pending deliveries are not sent.")
@errors(401, 403, 404)
async def delete_webhook(webhook_id: str) -> Response:
    """Remove a webhook."""
    provider = await require_provider()
    await use_cases.remove_webhook(await db(), provider, use_cases.parse_webhook_id(webhook_id))
    return Response(status=204)


@blueprint.get("/api/providers/me/webhooks/<webhook_id>/deliveries")
@responds(200, DeliveryList)
@errors(401, 403, 404)
async def get_webhook_deliveries(webhook_id: str) -> Response:
    """The webhook's last 50 deliveries, newest first, with their status."""
    provider = await require_provider()
    found = await use_cases.recent_deliveries(
        await db(), provider, use_cases.parse_webhook_id(webhook_id)
    )
    return json_response({"deliveries": [delivery.to_json() for delivery in found]})
