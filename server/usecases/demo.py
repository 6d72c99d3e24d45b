"""Demo data for `appointly seed-demo`: three providers in three zones, their services and slots,
a demo customer, and weeks of past and future bookings in every state.

Idempotent: each demo user, provider and service is looked up first (by e-mail, by user, by
name) and only what is missing is created, so a second run creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.auth.passwords import hash_password
from server.infra.config import Config
from server.infra.db import create_pool
from server.models import providers, services, users
from server.models.providers import Provider
from server.models.services import Service
from server.usecases.demo_bookings import seed_service_bookings
from server.usecases.services import create_service

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (public by design: printed for demo sign-in)
DEMO_CUSTOMER_EMAIL = "customer@demo.appointly.local"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


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
            },
        ),
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
                for body in demo.services:
                    service = await _ensure_service(conn, provider, body, config, counts)
                    counts.bookings += await seed_service_bookings(
                        conn, service, customer_id, datetime.now(UTC)
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
    return await create_service(
        conn,
        None,
        provider,
        body,
        now=datetime.now(UTC),
        horizon_days=config.slot_horizon_days,
    )


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
