"""The provider's analytics: earnings, counts and the weekly and monthly series."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from quart import Blueprint, Response

from server.edge.api_docs import errors, responds
from server.infra.jsonio import json_response
from server.infra.state import db
from server.models.stats import select_provider_stats
from server.usecases.providers import require_provider

blueprint = Blueprint("stats", __name__)


class WeekCount(BaseModel):
    week_start: str = Field(description="The Monday the week starts on (provider's zone).")
    count: int = Field(ge=0)


class MonthCount(BaseModel):
    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")
    count: int = Field(ge=0)


class StatsBody(BaseModel):
    """Money in minor units of `currency` (the provider's main currency)."""

    currency: str | None
    earnings_this_month_cents: int = Field(ge=0)
    revenue_cents: int = Field(ge=0)
    appointments_this_week: int = Field(ge=0)
    appointments_this_month: int = Field(ge=0)
    per_week: list[WeekCount] = Field(min_length=12, max_length=12)
    per_month: list[MonthCount] = Field(min_length=12, max_length=12)
    no_shows: int = Field(ge=0)
    cancellations: int = Field(ge=0)
    completed: int = Field(ge=0)


@blueprint.get("/api/dashboard/stats")
@responds(200, StatsBody)
@errors(401, 403)
async def get_dashboard_stats() -> Response:
    """The signed-in provider's figures, in their own time zone (weeks start on Monday).

    Earnings and revenue count completed, paid bookings (online or at the visit); the
    appointment counts and series count bookings that were not rejected or cancelled, by their
    start; cancellations are the customer's and the provider's; `per_week` and `per_month`
    end with the current week and month.
    """
    provider = await require_provider()
    stats = await select_provider_stats(await db(), provider.id, datetime.now(UTC))
    return json_response(stats.to_json())
