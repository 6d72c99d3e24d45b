"""The waitlist's API: join a full day, see and leave one's place, claim an offer; and the
provider's view of who waits."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import document_querystring, validate_querystring, validate_request

from server.auth.session_user import optional_user
from server.domain.bookings import clean_customer_details
from server.domain.dates import parse_day
from server.domain.slots import local_today
from server.edge.api_docs import errors, responds
from server.edge.client_limits import BOOKINGS, limited_per_client
from server.infra.jsonio import json_response
from server.infra.state import config, db, release_db
from server.routes import shapes
from server.routes.after_commit import run_after_commit
from server.routes.customer_fields import CustomerFields
from server.routes.waitlist_shapes import (
    ProviderWaitlist,
    WaitlistEntryEnvelope,
    WaitlistJoined,
)
from server.usecases import waitlist as use_cases
from server.usecases.bookings import Database
from server.usecases.providers import require_provider
from server.usecases.services import parse_service_id

blueprint = Blueprint("waitlist", __name__)

# How many days from the asked one the dashboard's counts cover.
DASHBOARD_DAYS = 14


class JoinBody(CustomerFields):
    """Wait for `date` of the service: the first time that frees up is offered to the first
    in line."""

    date: str = Field(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        json_schema_extra={"format": "date"},
        description="A full day (YYYY-MM-DD) in the provider's time zone, inside the horizon.",
    )


class KeyQuery(BaseModel):
    key: str | None = Field(
        default=None,
        description="The key from the waitlist link (the join's or an offer e-mail's).",
    )


class DayQuery(BaseModel):
    date: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        json_schema_extra={"format": "date"},
        description="A day (YYYY-MM-DD) in the provider's time zone; default today there.",
    )


def _now() -> datetime:
    return datetime.now(UTC)


@blueprint.post("/api/services/<service_id>/waitlist")
@limited_per_client(BOOKINGS)
@validate_request(JoinBody)
@responds(201, WaitlistJoined)
@errors(404, 409, 422)
async def post_waitlist_entry(service_id: str, data: JoinBody) -> Response:
    """Join the waitlist for a full day of a service, as a guest or signed in.

    409 `slots_available` while the day still has a bookable time, `already_waiting` when the
    e-mail is already in that day's line. Shares the bookings' rate limit.
    """
    user = await optional_user()
    joined = await use_cases.join_waitlist(
        await db(),
        parse_service_id(service_id),
        parse_day(data.date),
        lambda: clean_customer_details(
            name=data.customer_name,
            email=data.customer_email,
            phone=data.customer_phone,
            notes=None,
            timezone=data.customer_timezone,
        ),
        customer_user_id=None if user is None else user.id,
        settings=config(),
        now=_now(),
    )
    return json_response({"entry": joined.entry.to_json(), "manage_url": joined.manage_url}, 201)


@blueprint.get("/api/waitlist/<entry_id>")
@document_querystring(KeyQuery)
@responds(200, WaitlistEntryEnvelope)
@errors(404)
async def get_waitlist_entry(entry_id: str) -> Response:
    """Your place on a waitlist: position while waiting, the held slot while offered."""
    user = await optional_user()
    entry = await use_cases.get_entry(
        await db(),
        use_cases.parse_entry_id(entry_id),
        key=request.args.get("key"),
        user_id=None if user is None else user.id,
    )
    return json_response({"entry": entry.to_json()})


@blueprint.post("/api/waitlist/<entry_id>/leave")
@document_querystring(KeyQuery)
@responds(200, WaitlistEntryEnvelope)
@errors(404, 409)
async def post_waitlist_leave(entry_id: str) -> Response:
    """Leave the waitlist (status `left`); an open offer passes to the next in line at once."""
    user = await optional_user()
    left = await use_cases.leave_waitlist(
        await db(),
        use_cases.parse_entry_id(entry_id),
        key=request.args.get("key"),
        user_id=None if user is None else user.id,
        now=_now(),
    )
    await run_after_commit(left.effects)
    return json_response({"entry": left.entry.to_json()})


@blueprint.post("/api/waitlist/<entry_id>/claim")
@document_querystring(KeyQuery)
@responds(201, shapes.BookingCreated)
@errors(404, 409)
async def post_waitlist_claim(entry_id: str) -> Response:
    """Book the slot held for you: the same answer as POST /api/bookings (PENDING, with a
    Stripe Checkout URL for a paid service); 409 `offer_expired` when the offer has ended."""
    user = await optional_user()
    outcome = await use_cases.claim_offer(
        Database(connection=db, release=release_db),
        use_cases.parse_entry_id(entry_id),
        key=request.args.get("key"),
        user_id=None if user is None else user.id,
        settings=config(),
        now=_now(),
    )
    await run_after_commit(outcome.effects)
    if outcome.error is not None:
        raise outcome.error
    return json_response(outcome.body, outcome.status)


@blueprint.get("/api/dashboard/waitlist")
@validate_querystring(DayQuery)
@responds(200, ProviderWaitlist)
@errors(401, 403, 422)
async def get_dashboard_waitlist(query_args: DayQuery) -> Response:
    """Who is in line for a day across your services (with their contact details), and how
    many wait on each of the 14 days from it."""
    provider = await require_provider()
    day: dt.date = (
        local_today(_now(), ZoneInfo(provider.timezone))
        if query_args.date is None
        else parse_day(query_args.date)
    )
    entries, counts = await use_cases.provider_day(
        await db(), provider.id, day, days=DASHBOARD_DAYS
    )
    return json_response(
        {
            "date": day.isoformat(),
            "entries": [entry.to_provider_json() for entry in entries],
            "days": [
                {"date": waiting_day.isoformat(), "waiting": count}
                for waiting_day, count in sorted(counts.items())
            ],
        }
    )
