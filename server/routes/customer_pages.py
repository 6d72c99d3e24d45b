"""The customer's pages: search services, watch a service's live slots, book, manage bookings.

Each route reads what the first paint needs (so the pages work without JavaScript and show
content at once) and leaves live updates and submitting to the ES modules in static/js.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from math import ceil
from urllib.parse import urlencode
from uuid import UUID

from quart import Blueprint, redirect, render_template, request
from werkzeug.wrappers.response import Response as WerkzeugResponse

from server.auth.session_user import optional_user
from server.domain.appointments import PaymentStatus, Status
from server.domain.cutoffs import customer_change_deadline, customer_may_change
from server.domain.dates import format_day
from server.domain.money import format_amount
from server.edge.errors import APIError
from server.infra.state import config, db
from server.models.appointments import Appointment, select_customer_appointments
from server.models.service_search import SearchFilters, search_services, select_categories
from server.models.services import Service, select_service
from server.models.slots import Slot, select_slot
from server.routes.rule_text import RuleTexts
from server.usecases.bookings import get_booking
from server.usecases.bookings import manage_url as manage_link

blueprint = Blueprint("customer_pages", __name__)

Page = str | WerkzeugResponse | tuple[str, int]

PAGE_SIZE = 12
MAX_QUERY_LENGTH = 200
MAX_PAGE = 10_000
STATUS_LABELS = {
    Status.PENDING: "Awaiting confirmation",
    Status.CONFIRMED: "Confirmed",
    Status.REJECTED: "Declined",
    Status.CANCELLED: "Cancelled",
    Status.COMPLETED: "Completed",
    Status.NO_SHOW: "Missed",
}
PAYMENT_LABELS = {
    PaymentStatus.PAY_AT_VISIT: "Pay at the visit",
    PaymentStatus.AWAITING_PAYMENT: "Awaiting payment",
    PaymentStatus.PAID: "Paid",
    PaymentStatus.REFUNDED: "Refunded",
}
CANCELLABLE = frozenset({Status.PENDING, Status.CONFIRMED})


def price_label(price_cents: int, currency: str) -> str:
    """A plain price for the first paint ("45.00 GBP", "Free"); the pages re-format it with
    Intl.NumberFormat in the visitor's locale."""
    return format_amount(price_cents, currency) if price_cents else "Free"


def when_label(moment: datetime) -> str:
    """A moment as the provider's wall clock shows it: "Tuesday 24 November 2026, 09:30"."""
    return f"{format_day(moment)}, {moment:%H:%M}"


def _now() -> datetime:
    return datetime.now(UTC)


async def _not_found_page(title: str) -> tuple[str, int]:
    html = await render_template("error.html", status=404, title=title, user=await optional_user())
    return html, 404


def _uuid(raw: str | None) -> UUID | None:
    try:
        return UUID(raw or "")
    except ValueError:
        return None


async def _active_service(raw_id: str) -> Service | None:
    service_id = _uuid(raw_id)
    if service_id is None:
        return None
    service = await select_service(await db(), service_id)
    return service if service is not None and service.is_active else None


# --- Search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchForm:
    query: str
    category: str
    near: str
    # As given when it is a real YYYY-MM-DD day, else "" (the filter is then left out).
    available_on: str
    page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def available_day(self) -> date | None:
        return date.fromisoformat(self.available_on) if self.available_on else None

    def url(self, page: int) -> str:
        """This search's URL on another page, with only the parameters that are set."""
        params = {
            "q": self.query,
            "category": self.category,
            "near": self.near,
            "available_on": self.available_on,
            "page": page if page > 1 else "",
        }
        query = urlencode({name: value for name, value in params.items() if value})
        return f"/services?{query}" if query else "/services"


def _real_day(raw: str) -> str:
    """`raw` when it is a real YYYY-MM-DD day, else ""."""
    try:
        return raw if len(raw) == 10 and date.fromisoformat(raw).isoformat() == raw else ""
    except ValueError:
        return ""


def _search_form() -> SearchForm:
    def text(name: str) -> str:
        return (request.args.get(name) or "").strip()[:MAX_QUERY_LENGTH]

    try:
        page = int(request.args.get("page") or 1)
    except ValueError:
        page = 1
    return SearchForm(
        query=text("q"),
        category=text("category"),
        near=text("near"),
        available_on=_real_day(text("available_on")),
        page=min(max(page, 1), MAX_PAGE),
    )


@blueprint.get("/services")
async def services_page() -> Page:
    """Search services; the first page of results is rendered here, later ones by search.js."""
    form = _search_form()
    conn = await db()
    found = await search_services(
        conn,
        query=form.query or None,
        filters=SearchFilters(
            category=form.category or None,
            near=form.near or None,
            available_on=form.available_day,
            now=_now(),
        ),
        limit=PAGE_SIZE,
        offset=form.offset,
    )
    return await render_template(
        "services.html",
        user=await optional_user(),
        form=form,
        services=found.services,
        total=found.total,
        total_is_estimate=found.total_is_estimate,
        pages=max(1, ceil(found.total / PAGE_SIZE)),
        page_size=PAGE_SIZE,
        categories=await select_categories(conn),
        price_label=price_label,
    )


# --- One service and its booking form -----------------------------------------------------------


@blueprint.get("/services/<service_id>")
async def service_page(service_id: str) -> Page:
    """A service's details and its live, day-by-day slot picker."""
    service = await _active_service(service_id)
    if service is None:
        return await _not_found_page("Service not found")
    return await render_template(
        "service.html",
        user=await optional_user(),
        service=service,
        price_label=price_label,
        rules=RuleTexts.of(service, config().slot_horizon_days),
    )


@blueprint.get("/services/<service_id>/book")
async def book_page(service_id: str) -> Page:
    """The booking form for one slot (`?slot=`); without a slot of this service, the picker."""
    service = await _active_service(service_id)
    if service is None:
        return await _not_found_page("Service not found")
    slot_id = _uuid(request.args.get("slot"))
    slot = None if slot_id is None else await select_slot(await db(), slot_id)
    if slot is None or slot.service_id != service.id:
        return redirect(f"/services/{service.id}")
    starts = slot.starts_at.astimezone(service.provider.zone)
    rules = RuleTexts.of(service, config().slot_horizon_days)
    return await render_template(
        "book.html",
        user=await optional_user(),
        service=service,
        slot=slot.to_json(service.provider.zone),
        slot_gone=_gone(slot),
        when=when_label(starts),
        price_label=price_label,
        rules=rules,
        cancel_until=when_label(customer_change_deadline(starts, service.cancel_cutoff_minutes)),
        cancel_closed=not customer_may_change(
            slot.starts_at, service.cancel_cutoff_minutes, _now()
        ),
    )


def _gone(slot: Slot) -> bool:
    return slot.booked or slot.starts_at <= _now()


# --- The customer's bookings ---------------------------------------------------------------------


@dataclass(frozen=True)
class BookingView:
    """An appointment as the customer's pages show it."""

    appointment: Appointment
    when: str
    status_label: str
    payment_label: str
    cancellable: bool
    # The last moment the customer may cancel, as the provider's clock shows it.
    cancel_until: str
    # Live (pending or confirmed) but past the cancel cut-off: only the provider can change it.
    too_late_to_cancel: bool

    @classmethod
    def of(cls, appointment: Appointment, now: datetime) -> BookingView:
        deadline = customer_change_deadline(
            appointment.starts_at, appointment.cancel_cutoff_minutes
        )
        live = appointment.status in CANCELLABLE
        return cls(
            appointment=appointment,
            when=when_label(appointment.starts_at.astimezone(appointment.zone)),
            status_label=STATUS_LABELS[appointment.status],
            payment_label=PAYMENT_LABELS[appointment.payment_status],
            cancellable=live and now < deadline,
            cancel_until=when_label(deadline.astimezone(appointment.zone)),
            too_late_to_cancel=live and now >= deadline and appointment.starts_at > now,
        )


@blueprint.get("/bookings/<appointment_id>")
async def booking_page(appointment_id: str) -> Page:
    """One booking for its customer (manage key in the URL, or signed in as the booker)."""
    parsed = _uuid(appointment_id)
    key = request.args.get("key")
    user = await optional_user()
    if parsed is None:
        return await _not_found_page("Booking not found")
    try:
        appointment = await get_booking(
            await db(), parsed, manage_key=key, user_id=None if user is None else user.id
        )
    except APIError:
        return await _not_found_page("Booking not found")
    manage_url = manage_link(config().base_url, appointment.id, key) if key else ""
    service = await select_service(await db(), appointment.service_id)
    return await render_template(
        "booking.html",
        user=user,
        booking=BookingView.of(appointment, _now()),
        # The rules the Reschedule picker explains (notice, cut-off).
        rules=None if service is None else RuleTexts.of(service, config().slot_horizon_days),
        manage_key=key or "",
        manage_url=manage_url,
        checkout=request.args.get("checkout", ""),
        price_label=price_label,
    )


@blueprint.get("/bookings")
async def bookings_page() -> Page:
    """The signed-in customer's bookings: upcoming first, then past ones (latest first)."""
    user = await optional_user()
    if user is None:
        return redirect("/login?next=/bookings")
    now = _now()
    views = [
        BookingView.of(appointment, now)
        for appointment in await select_customer_appointments(await db(), user.id)
    ]
    upcoming = [view for view in views if view.appointment.starts_at > now]
    past = [view for view in views if view.appointment.starts_at <= now]
    past.reverse()
    return await render_template("bookings.html", user=user, upcoming=upcoming, past=past)
