"""Server-rendered pages: each route only decides whether to redirect or which template to show.

The pages talk to the JSON API from small ES modules in static/js; nothing here writes data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache, wraps
from typing import Concatenate, ParamSpec
from urllib.parse import quote
from uuid import UUID
from zoneinfo import available_timezones

from quart import Blueprint, redirect, render_template, request
from werkzeug.wrappers.response import Response as WerkzeugResponse

from server.auth.session_user import optional_user
from server.domain.money import ZERO_DECIMAL_CURRENCIES
from server.domain.redirects import local_path
from server.infra.state import config, db, release_db
from server.models.caldav import select_account as select_caldav_account
from server.models.providers import Provider, select_provider_by_user
from server.models.services import Service, select_provider_services, select_service
from server.models.showcase import select_showcase_service
from server.models.users import User
from server.routes.rule_text import span_parts
from server.usecases.stripe_accounts import refresh_charges_enabled

blueprint = Blueprint("pages", __name__)

Page = str | WerkzeugResponse | tuple[str, int]
P = ParamSpec("P")

DEFAULT_NEXT = "/dashboard"
# Offered first in the currency picker; any ISO code the API accepts can be added here.
CURRENCIES = (
    ("GBP", "£ British pound"),
    ("USD", "$ US dollar"),
    ("EUR", "€ Euro"),
    ("CAD", "$ Canadian dollar"),
    ("AUD", "$ Australian dollar"),
    ("NZD", "$ New Zealand dollar"),
    ("CHF", "Swiss franc"),
    ("SEK", "Swedish krona"),
    ("NOK", "Norwegian krone"),
    ("DKK", "Danish krone"),
    ("PLN", "Polish złoty"),
    ("INR", "₹ Indian rupee"),
    ("SGD", "$ Singapore dollar"),
    ("ZAR", "South African rand"),
    ("BRL", "Brazilian real"),
    ("MXN", "Mexican peso"),
    ("AED", "UAE dirham"),
    ("JPY", "¥ Japanese yen"),
)
WEEKDAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)


def _login_redirect(path: str) -> WerkzeugResponse:
    return redirect(f"/login?next={quote(path, safe='/')}")


@cache
def _timezone_names() -> tuple[str, ...]:
    # Legacy aliases ("US/Eastern", "Etc/GMT+5") clutter the list; real zones contain a slash.
    names = {name for name in available_timezones() if "/" in name or name == "UTC"}
    return tuple(sorted(name for name in names if not name.startswith(("Etc/", "SystemV/"))))


async def _signed_in() -> tuple[User | None, Provider | None]:
    user = await optional_user()
    if user is None:
        return None, None
    return user, await select_provider_by_user(await db(), user.id)


def _providers_only(
    page: Callable[Concatenate[User, Provider, P], Awaitable[Page]],
) -> Callable[P, Awaitable[Page]]:
    """A provider's page, called with the signed-in user and their provider. Anyone signed
    out is sent to sign in (and back here), a user who is no provider yet to onboarding."""

    @wraps(page)
    async def for_the_provider(*args: P.args, **kwargs: P.kwargs) -> Page:
        user, provider = await _signed_in()
        if user is None:
            return _login_redirect(request.path)
        if provider is None:
            return redirect("/onboarding")
        return await page(user, provider, *args, **kwargs)

    return for_the_provider


@blueprint.get("/")
async def landing() -> Page:
    """The landing page: what Appointly does, for customers and for providers."""
    user, provider = await _signed_in()
    provider_cta = "/signup?next=/onboarding" if user is None else "/onboarding"
    if provider is not None:
        provider_cta = "/dashboard"
    showcase = await select_showcase_service(await db(), datetime.now(UTC))
    return await render_template(
        "landing.html",
        user=user,
        provider=provider,
        provider_cta=provider_cta,
        # Only a provider has snippets to copy; anyone else becomes one first.
        embed_cta="/embed" if provider is not None else provider_cta,
        showcase=showcase,
    )


@blueprint.get("/signup")
async def signup_page() -> Page:
    """The sign-up form; a signed-in visitor goes straight on to `next`."""
    next_path = local_path(request.args.get("next"))
    if await optional_user() is not None:
        return redirect(next_path or DEFAULT_NEXT)
    return await render_template("signup.html", next_path=next_path)


@blueprint.get("/login")
async def login_page() -> Page:
    """The sign-in form, with Google when it is configured."""
    next_path = local_path(request.args.get("next"))
    if await optional_user() is not None:
        return redirect(next_path or DEFAULT_NEXT)
    google_failed = request.args.get("error") == "google_failed"
    return await render_template("login.html", next_path=next_path, google_failed=google_failed)


@blueprint.get("/forgot-password")
async def forgot_password_page() -> Page:
    """Ask for a password-reset link by e-mail."""
    return await render_template("forgot_password.html", user=await optional_user())


def _link_token() -> str | None:
    # The page's script posts the token; the GET itself changes nothing (mail scanners
    # prefetch links). Anything far longer than our 43-character tokens is not one.
    token = request.args.get("token", "").strip()
    return token if 0 < len(token) <= 200 else None


@blueprint.get("/reset-password")
async def reset_password_page() -> Page:
    """The new-password form a reset e-mail links to (`?token=…`)."""
    return await render_template(
        "reset_password.html", user=await optional_user(), token=_link_token()
    )


@blueprint.get("/verify-email")
async def verify_email_page() -> Page:
    """Where a verification e-mail's link lands; its script confirms the address."""
    return await render_template(
        "verify_email.html", user=await optional_user(), token=_link_token()
    )


@blueprint.get("/dashboard")
async def dashboard_page() -> Page:
    """The signed-in user's home: provider tools, or an invitation to become one."""
    user, provider = await _signed_in()
    if user is None:
        return _login_redirect("/dashboard")
    if request.args.get("stripe") == "return" and provider is not None:
        # Back from Stripe's onboarding: read the account's state from Stripe now, then show
        # the plain dashboard (a reload does not ask Stripe again).
        if config().stripe_enabled:
            await refresh_charges_enabled(provider, connection=db, release=release_db)
        return redirect("/dashboard")
    return await render_template("dashboard.html", user=user, provider=provider)


@blueprint.get("/onboarding")
async def onboarding_page() -> Page:
    """Become a provider: business name, time zone and phone."""
    user, provider = await _signed_in()
    if user is None:
        return redirect("/signup?next=/onboarding")
    if provider is not None:
        return redirect("/dashboard")
    return await render_template(
        "onboarding.html", user=user, provider=None, timezones=_timezone_names()
    )


@blueprint.get("/add-service")
@_providers_only
async def add_service_page(user: User, provider: Provider) -> Page:
    """The new-service form with its weekly hours editor (providers only)."""
    return await render_template(
        "add_service.html",
        user=user,
        provider=provider,
        currencies=CURRENCIES,
        zero_decimal=ZERO_DECIMAL_CURRENCIES,
        weekdays=WEEKDAYS,
    )


@blueprint.get("/embed")
@_providers_only
async def embed_page(user: User, provider: Provider) -> Page:
    """Copy-and-paste widget snippets for the provider's services, with live previews
    (providers only)."""
    return await render_template(
        "embed.html",
        user=user,
        provider=provider,
        services=await select_provider_services(await db(), provider.id),
        widget_src=f"{config().base_url}/static/widget.js",
    )


async def _own_active_service(provider: Provider, raw_id: str) -> Service | None:
    try:
        service_id = UUID(raw_id)
    except ValueError:
        return None
    service = await select_service(await db(), service_id)
    if service is None or service.provider.id != provider.id or not service.is_active:
        return None
    return service


def _price_text(price_cents: int, currency: str) -> str:
    """What the price field shows: "45.00", or "4500" for a zero-decimal currency."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return str(price_cents)
    return f"{price_cents // 100}.{price_cents % 100:02d}"


@blueprint.get("/services/<service_id>/edit")
@_providers_only
async def edit_service_page(user: User, provider: Provider, service_id: str) -> Page:
    """The owner edits a service: details, price, hours, rules and date overrides, with a
    preview of the next free times (the service's provider only; anyone else gets a 404)."""
    service = await _own_active_service(provider, service_id)
    if service is None:
        html = await render_template("error.html", status=404, title="Service not found", user=user)
        return html, 404
    # A currency set through the API may be missing from the picker: offer it first.
    currencies: tuple[tuple[str, str], ...] = CURRENCIES
    if service.currency not in dict(CURRENCIES):
        currencies = ((service.currency, service.currency), *CURRENCIES)
    return await render_template(
        "edit_service.html",
        user=user,
        provider=provider,
        service=service,
        price_text=_price_text(service.price_cents, service.currency),
        currencies=currencies,
        zero_decimal=ZERO_DECIMAL_CURRENCIES,
        weekdays=WEEKDAYS,
        default_horizon_days=config().slot_horizon_days,
        span_parts=span_parts,
    )


@blueprint.get("/availability")
@_providers_only
async def availability_page(user: User, provider: Provider) -> Page:
    """The provider's time off and a month of closed days and date overrides across services
    (providers only)."""
    return await render_template(
        "availability.html",
        user=user,
        provider=provider,
        services=[
            service
            for service in await select_provider_services(await db(), provider.id)
            if service.is_active
        ],
        # The CalDAV panel's first state (its API answers 404 when none is connected).
        caldav=await select_caldav_account(await db(), provider.id),
    )
