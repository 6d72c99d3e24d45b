"""Provider onboarding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import document_request, validate_request

from server.auth.session_user import require_user
from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.edge.optional_body import optional_json_body
from server.infra.jsonio import json_response
from server.infra.state import db
from server.models import providers
from server.payments.connect import onboarding_link
from server.routes import documented_rules as rules
from server.routes import shapes
from server.routes.documented_rules import MAX_NAME_LENGTH
from server.usecases.providers import become_provider, require_provider

blueprint = Blueprint("providers", __name__)


class ProviderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_name: str = Field(max_length=MAX_NAME_LENGTH, json_schema_extra=rules.NAME)
    timezone: str = Field(max_length=100, json_schema_extra=rules.timezone())
    phone: str | None = Field(default=None, max_length=100, json_schema_extra=rules.PHONE)


class StripeConnectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # ISO 3166-1 alpha-2; by default the country of the provider's time zone.
    country: str | None = Field(default=None, pattern="^[A-Za-z]{2}$")


@blueprint.post("/api/providers")
@validate_request(ProviderRequest)
@responds(201, shapes.ProviderEnvelope)
@errors(401, 409, 422)
async def post_provider(data: ProviderRequest) -> Response:
    """Become a provider: a business name, an IANA time zone and an optional phone."""
    user = await require_user()
    provider = await become_provider(
        await db(), user, business_name=data.business_name, timezone=data.timezone, phone=data.phone
    )
    return json_response({"provider": provider.to_json()}, 201)


@blueprint.get("/api/providers/me")
@responds(200, shapes.ProviderEnvelope)
@errors(401, 404)
async def get_my_provider() -> Response:
    """The signed-in user's provider profile."""
    user = await require_user()
    provider = await providers.select_provider_by_user(await db(), user.id)
    if provider is None:
        raise APIError(404, "not_provider", "You are not a provider yet.")
    return json_response({"provider": provider.to_json()})


@blueprint.post("/api/providers/me/stripe/connect")
@document_request(StripeConnectRequest)
@responds(200, shapes.ConnectLink)
@errors(400, 401, 403, 409, 422)
async def post_stripe_connect() -> Response:
    """Start or resume Stripe onboarding: returns the Stripe-hosted page to send the provider to.

    The body is optional: `{"country": "GB"}` picks the account's country the first time
    (default: the country of the provider's time zone). The Connect account is created once
    and reused; each call returns a fresh link, which comes back to `/dashboard`.
    """
    provider = await require_provider()
    user = await require_user()
    data = await optional_json_body(StripeConnectRequest)
    country = data.country.upper() if data.country else None
    url = await onboarding_link(await db(), user, provider, country=country)
    return json_response({"url": url})
