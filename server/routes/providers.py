"""Provider onboarding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import validate_request

from server.auth.session_user import require_user
from server.errors import APIError
from server.jsonio import json_response
from server.models import providers
from server.providers import become_provider
from server.state import db

blueprint = Blueprint("providers", __name__)


class ProviderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_name: str = Field(max_length=400)
    timezone: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=100)


@blueprint.post("/api/providers")
@validate_request(ProviderRequest)
async def post_provider(data: ProviderRequest) -> Response:
    """Become a provider: a business name, an IANA time zone and an optional phone."""
    user = await require_user()
    provider = await become_provider(
        await db(), user, business_name=data.business_name, timezone=data.timezone, phone=data.phone
    )
    return json_response({"provider": provider.to_json()}, 201)


@blueprint.get("/api/providers/me")
async def get_my_provider() -> Response:
    """The signed-in user's provider profile."""
    user = await require_user()
    provider = await providers.select_provider_by_user(await db(), user.id)
    if provider is None:
        raise APIError(404, "not_provider", "You are not a provider yet.")
    return json_response({"provider": provider.to_json()})
