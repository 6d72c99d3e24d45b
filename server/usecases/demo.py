"""Demo data for `appointly seed-demo`: three providers in three zones, their services and slots,
a demo customer, and weeks of past and future bookings in every state.

Each availability rule shows somewhere: the clinic leaves 10 minutes between clients, takes
bookings at least 2 hours ahead, lets customers cancel free until 24 hours before, and closes
for the next bank holiday; the salon has a Saturday with short hours.

Idempotent: each demo user, provider and service is looked up first (by e-mail, by user, by
name), as are the bank holiday and the short day, and only what is missing is created, so a
second run creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.auth.passwords import hash_password
from server.infra.config import Config
from server.infra.db import create_pool
from server.models import availability, providers, services, users
from server.models.providers import Provider
from server.models.services import Service
from server.usecases.availability import add_time_off, put_date_override
from server.usecases.demo_bookings import seed_service_bookings
from server.usecases.demo_waitlist import seed_full_day_with_waitlist
from server.usecases.services import create_service

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (public by design: printed for demo sign-in)
DEMO_CUSTOMER_EMAIL = "customer@demo.appointly.local"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# The clinic's rules: cleaning time between clients, no same-hour bookings, a day's notice to
# cancel for free.
CLINIC_RULES = {"buffer_minutes": 10, "min_notice_minutes": 120, "cancel_cutoff_minutes": 1440}
BANK_HOLIDAY = "Bank holiday"
# England and Wales bank holidays; past the list, the clinic closes a Monday two weeks on.
ENGLISH_BANK_HOLIDAYS = tuple(
    date.fromisoformat(day)
    for day in (
        "2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
        "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28", "2028-01-03", "2028-04-14",
        "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25", "2028-12-26",
    )
)  # fmt: skip


def _days(days: tuple[str, ...], *intervals: tuple[str, str]) -> dict[str, Any]:
    return {day: [list(interval) for interval in intervals] for day in days}


@dataclass(frozen=True)
class DemoProvider:
    email: str
    owner_name: str
    business_name: str
    slug: str
    timezone: str
    phone: str
    services: tuple[dict[str, Any], ...]
    # Closed for the next bank holiday (time off for the whole business).
    bank_holiday: bool = False
    # (service name, hours): that service's next Saturday has these hours instead (an override).
    short_saturday: tuple[str, list[list[str]]] | None = None


DEMO_PROVIDERS = (
    DemoProvider(
        email="clinic@demo.appointly.local",
        owner_name="Dr Amelia Hart",
        business_name="Harley Street Physio Clinic",
        slug="demo-harley-street-physio",
        timezone="Europe/London",
        phone="+44 20 7946 0000",
        services=(
            {
                "name": "Physiotherapy assessment",
                "description": "A first 45-minute assessment with a chartered physiotherapist.",
                "category": "Health",
                "location": "12 Harley Street, London",
                "price_cents": 6500,
                "currency": "GBP",
                "duration_minutes": 45,
                "max_appointments_per_day": 8,
                "hours": _days(WEEKDAYS, ("09:00", "12:30"), ("13:30", "17:30")),
                **CLINIC_RULES,
            },
            {
                "name": "Sports massage",
                "description": "Deep tissue sports massage for recovery and injury prevention.",
                "category": "Wellness",
                "location": "12 Harley Street, London",
                "price_cents": 5500,
                "currency": "GBP",
                "duration_minutes": 60,
                "max_appointments_per_day": 6,
                "hours": _days(("tue", "thu", "sat"), ("10:00", "16:00")),
                **CLINIC_RULES,
            },
        ),
        bank_holiday=True,
    ),
    DemoProvider(
        email="salon@demo.appointly.local",
        owner_name="Maria Lopez",
        business_name="Brooklyn Hair Studio",
        slug="demo-brooklyn-hair-studio",
        timezone="America/New_York",
        phone="+1 718 555 0100",
        services=(
            {
                "name": "Haircut and blow-dry",
                "description": "Wash, cut and blow-dry with one of our senior stylists.",
                "category": "Beauty",
                "location": "200 Bedford Ave, Brooklyn, NY",
                "price_cents": 6000,
                "currency": "USD",
                "duration_minutes": 60,
                "max_appointments_per_day": 8,
                "hours": _days(("tue", "wed", "thu", "fri", "sat"), ("10:00", "19:00")),
            },
            {
                "name": "Beard trim",
                "description": "A quick, precise beard shape-up.",
                "category": "Beauty",
                "location": "200 Bedford Ave, Brooklyn, NY",
                "price_cents": 2000,
                "currency": "USD",
                "duration_minutes": 20,
                "max_appointments_per_day": 20,
                "hours": _days(("tue", "wed", "thu", "fri", "sat"), ("12:00", "18:00")),
            },
            {
                "name": "Colour consultation",
                "description": "Free 15-minute chat about colour options before you book.",
                "category": "Beauty",
                "location": "200 Bedford Ave, Brooklyn, NY",
                "price_cents": 0,
                "currency": "USD",
                "duration_minutes": 15,
                "max_appointments_per_day": 12,
                "hours": _days(("sat",), ("09:00", "12:00")),
            },
        ),
        short_saturday=("Haircut and blow-dry", [["10:00", "14:00"]]),
    ),
    DemoProvider(
        email="tutor@demo.appointly.local",
        owner_name="Kenji Sato",
        business_name="Sato Language Tutoring",
        slug="demo-sato-language-tutoring",
        timezone="Asia/Tokyo",
        phone="+81 3 5555 0100",
        services=(
            {
                "name": "Japanese conversation lesson",
                "description": "One-to-one conversation practice for all levels, online.",
                "category": "Education",
                "location": "Online",
                "price_cents": 4000,
                "currency": "JPY",
                "duration_minutes": 50,
                "max_appointments_per_day": 6,
                "hours": _days(WEEKDAYS, ("18:00", "22:00")) | _days(("sat",), ("09:00", "15:00")),
            },
            {
                "name": "JLPT exam preparation",
                "description": "Focused 90-minute sessions on grammar, reading and listening.",
                "category": "Education",
                "location": "Online",
                "price_cents": 7000,
                "currency": "JPY",
                "duration_minutes": 90,
                "max_appointments_per_day": 3,
                "hours": _days(("sat", "sun"), ("10:00", "17:00")),
            },
        ),
    ),
)


@dataclass
class SeedCounts:
    users: int = 0
    providers: int = 0
    services: int = 0
    bookings: int = 0


async def seed_demo(config: Config) -> str:
    """Create whatever demo data is missing; returns a one-line summary."""
    assert config.database_url, "seed_demo needs a resolved database_url"
    counts = SeedCounts()
    pool = await create_pool(config.database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            customer_id = await _ensure_customer(conn, counts)
            for demo in DEMO_PROVIDERS:
                provider = await _ensure_provider(conn, demo, counts)
                seeded = [
                    await _ensure_service(conn, provider, body, config, counts)
                    for body in demo.services
                ]
                # Before the bookings, so the demo's future bookings keep to these rules.
                await _ensure_availability(conn, demo, provider, seeded, datetime.now(UTC))
                for service in seeded:
                    counts.bookings += await seed_service_bookings(
                        conn, service, customer_id, datetime.now(UTC)
                    )
                if demo is DEMO_PROVIDERS[0]:
                    # A fully booked day of its first service, with people waiting for it.
                    counts.bookings += await seed_full_day_with_waitlist(
                        conn, seeded[0], customer_id, datetime.now(UTC)
                    )
    finally:
        await pool.close()
    return (
        f"demo data: {counts.users} users, {counts.providers} providers, "
        f"{counts.services} services and {counts.bookings} bookings created (sign in as any of "
        f"{', '.join(demo.email for demo in DEMO_PROVIDERS)}, or as the customer "
        f"{DEMO_CUSTOMER_EMAIL}, with password {DEMO_PASSWORD!r})"
    )


async def _ensure_provider(
    conn: asyncpg.Connection, demo: DemoProvider, counts: SeedCounts
) -> Provider:
    user = await users.select_user_by_email(conn, demo.email)
    if user is None:
        user = await users.insert_user(
            conn,
            email=demo.email,
            name=demo.owner_name,
            password_hash=await hash_password(DEMO_PASSWORD),
        )
        counts.users += 1
    provider = await providers.select_provider_by_user(conn, user.id)
    if provider is None:
        provider = await providers.insert_provider(
            conn,
            user_id=user.id,
            business_name=demo.business_name,
            slug=demo.slug,
            timezone=demo.timezone,
            phone=demo.phone,
        )
        counts.providers += 1
    return provider


async def _ensure_service(
    conn: asyncpg.Connection,
    provider: Provider,
    body: dict[str, Any],
    config: Config,
    counts: SeedCounts,
) -> Service:
    existing = await services.select_provider_service_by_name(conn, provider.id, body["name"])
    if existing is not None:
        service = await services.select_service(conn, existing)
        assert service is not None
        return service
    counts.services += 1
    # Nobody watches a service being created by the seed: its effects are not needed.
    created = await create_service(
        conn, provider, body, now=datetime.now(UTC), horizon_days=config.slot_horizon_days
    )
    return created.service


async def _ensure_availability(
    conn: asyncpg.Connection,
    demo: DemoProvider,
    provider: Provider,
    seeded: list[Service],
    now: datetime,
) -> None:
    """The bank holiday and the short Saturday, unless a run before made them already."""
    today = now.astimezone(ZoneInfo(demo.timezone)).date()
    if demo.bank_holiday:
        upcoming = await availability.select_time_off(conn, provider.id, ending_after=now)
        if not any(item.reason == BANK_HOLIDAY for item in upcoming):
            holiday = next_bank_holiday(today)
            await add_time_off(
                conn,
                provider,
                f"{holiday.isoformat()}T00:00",
                f"{(holiday + timedelta(days=1)).isoformat()}T00:00",
                BANK_HOLIDAY,
                now=now,
            )
    if demo.short_saturday is not None:
        name, hours = demo.short_saturday
        service = next(service for service in seeded if service.name == name)
        if not await availability.select_overrides(conn, service.id, today):
            saturday = next_saturday(today)
            # Nobody watches the demo being seeded: its after-commit notices are not needed.
            await put_date_override(
                conn, provider.user_id, service.id, saturday.isoformat(), hours, now=now
            )


def next_bank_holiday(today: date) -> date:
    """The first bank holiday at least two days away (a Monday two weeks on past the list)."""
    soonest = today + timedelta(days=2)
    for holiday in ENGLISH_BANK_HOLIDAYS:
        if holiday >= soonest:
            return holiday
    later = today + timedelta(days=14)
    return later + timedelta(days=-later.weekday() % 7)


def next_saturday(today: date) -> date:
    """The first Saturday at least two days away."""
    soonest = today + timedelta(days=2)
    return soonest + timedelta(days=(5 - soonest.weekday()) % 7)


async def _ensure_customer(conn: asyncpg.Connection, counts: SeedCounts) -> UUID:
    """A customer account whose bookings show on /bookings when signed in."""
    user = await users.select_user_by_email(conn, DEMO_CUSTOMER_EMAIL)
    if user is None:
        user = await users.insert_user(
            conn,
            email=DEMO_CUSTOMER_EMAIL,
            name="Charlie Customer",
            password_hash=await hash_password(DEMO_PASSWORD),
        )
        counts.users += 1
    return user.id
