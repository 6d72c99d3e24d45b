"""The services table, always read together with the provider that offers the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.slots import effective_horizon_days

SERVICE_COLUMNS = """
    s.id, s.name, s.description, s.category, s.location, s.price_cents, s.currency,
    s.duration_minutes, s.max_appointments_per_day, s.hours, s.is_active,
    s.slots_generated_until, s.buffer_minutes, s.min_notice_minutes, s.horizon_days,
    s.cancel_cutoff_minutes,
    p.id AS provider_id, p.user_id AS provider_user_id, p.business_name, p.slug, p.timezone
"""
# Columns a provider may change; the names are spliced into SQL, so only these are allowed.
UPDATABLE_COLUMNS = (
    "name",
    "description",
    "category",
    "location",
    "price_cents",
    "currency",
    "duration_minutes",
    "max_appointments_per_day",
    "hours",
    "buffer_minutes",
    "min_notice_minutes",
    "horizon_days",
    "cancel_cutoff_minutes",
)
# What SLOT_HORIZON_DAYS is when the environment does not say (server.infra.config).
DEFAULT_HORIZON_DAYS = 30


@dataclass(frozen=True)
class ServiceProvider:
    id: UUID
    user_id: UUID
    business_name: str
    slug: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Service:
    id: UUID
    provider: ServiceProvider
    name: str
    description: str
    category: str | None
    location: str | None
    price_cents: int
    currency: str
    duration_minutes: int
    max_appointments_per_day: int
    hours: dict[str, Any]
    is_active: bool
    slots_generated_until: date | None
    buffer_minutes: int = 0
    min_notice_minutes: int = 0
    # None: the deployment's SLOT_HORIZON_DAYS.
    horizon_days: int | None = None
    cancel_cutoff_minutes: int = 0

    def horizon(self, default_days: int) -> int:
        """How many days ahead this service's slots exist (`default_days`: SLOT_HORIZON_DAYS)."""
        return effective_horizon_days(self.horizon_days, default_days)

    def to_json(self, *, default_horizon_days: int = DEFAULT_HORIZON_DAYS) -> dict[str, Any]:
        """The contract's Service; `horizon_days` is the effective one, so pass
        SLOT_HORIZON_DAYS as `default_horizon_days`."""
        return {
            "id": str(self.id),
            "provider": {
                "id": str(self.provider.id),
                "business_name": self.provider.business_name,
                "slug": self.provider.slug,
                "timezone": self.provider.timezone,
            },
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "location": self.location,
            "price_cents": self.price_cents,
            "currency": self.currency,
            "duration_minutes": self.duration_minutes,
            "max_appointments_per_day": self.max_appointments_per_day,
            "hours": self.hours,
            "is_active": self.is_active,
            "buffer_minutes": self.buffer_minutes,
            "min_notice_minutes": self.min_notice_minutes,
            "horizon_days": self.horizon(default_horizon_days),
            "cancel_cutoff_minutes": self.cancel_cutoff_minutes,
        }


def service_from_row(row: asyncpg.Record) -> Service:
    """A Service from a row that selected SERVICE_COLUMNS."""
    provider = ServiceProvider(
        id=row["provider_id"],
        user_id=row["provider_user_id"],
        business_name=row["business_name"],
        slug=row["slug"],
        timezone=row["timezone"],
    )
    return Service(
        id=row["id"],
        provider=provider,
        name=row["name"],
        description=row["description"],
        category=row["category"],
        location=row["location"],
        price_cents=row["price_cents"],
        currency=row["currency"],
        duration_minutes=row["duration_minutes"],
        max_appointments_per_day=row["max_appointments_per_day"],
        hours=row["hours"],
        is_active=row["is_active"],
        slots_generated_until=row["slots_generated_until"],
        buffer_minutes=row["buffer_minutes"],
        min_notice_minutes=row["min_notice_minutes"],
        horizon_days=row["horizon_days"],
        cancel_cutoff_minutes=row["cancel_cutoff_minutes"],
    )


async def insert_service(
    conn: asyncpg.Connection, provider_id: UUID, fields: dict[str, Any]
) -> UUID:
    """Insert a service from cleaned fields (see server.domain.services); returns its id."""
    service_id: UUID = await conn.fetchval(
        """
        INSERT INTO services (provider_id, name, description, category, location, price_cents,
                              currency, duration_minutes, max_appointments_per_day, hours,
                              buffer_minutes, min_notice_minutes, horizon_days,
                              cancel_cutoff_minutes)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        RETURNING id
        """,
        provider_id,
        fields["name"],
        fields["description"],
        fields.get("category"),
        fields.get("location"),
        fields["price_cents"],
        fields["currency"],
        fields["duration_minutes"],
        fields["max_appointments_per_day"],
        fields["hours"],
        fields.get("buffer_minutes", 0),
        fields.get("min_notice_minutes", 0),
        fields.get("horizon_days"),
        fields.get("cancel_cutoff_minutes", 0),
    )
    return service_id


async def select_service(conn: asyncpg.Connection, service_id: UUID) -> Service | None:
    row = await conn.fetchrow(
        f"""
        SELECT {SERVICE_COLUMNS}
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.id = $1
        """,
        service_id,
    )
    return None if row is None else service_from_row(row)


async def select_provider_services(conn: asyncpg.Connection, provider_id: UUID) -> list[Service]:
    """All of a provider's services, inactive ones included, active first then by name."""
    rows = await conn.fetch(
        f"""
        SELECT {SERVICE_COLUMNS}
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.provider_id = $1
         ORDER BY s.is_active DESC, s.name, s.id
        """,
        provider_id,
    )
    return [service_from_row(row) for row in rows]


async def lock_service(
    conn: asyncpg.Connection, service_id: UUID, *, skip_locked: bool = False
) -> Service | None:
    """Lock the service row for the rest of the transaction (None if skipped or missing)."""
    wait = "SKIP LOCKED" if skip_locked else ""
    row = await conn.fetchrow(
        f"""
        SELECT {SERVICE_COLUMNS}
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.id = $1
           FOR UPDATE OF s {wait}
        """,
        service_id,
    )
    return None if row is None else service_from_row(row)


async def update_service(
    conn: asyncpg.Connection, service_id: UUID, changes: dict[str, Any]
) -> None:
    columns = [column for column in UPDATABLE_COLUMNS if column in changes]
    if not columns:
        return
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(columns, start=2))
    await conn.execute(
        f"""
        UPDATE services
           SET {assignments}, updated_at = now()
         WHERE id = $1
        """,
        service_id,
        *(changes[column] for column in columns),
    )


async def deactivate_service(conn: asyncpg.Connection, service_id: UUID) -> None:
    await conn.execute(
        """
        UPDATE services
           SET is_active = false, updated_at = now()
         WHERE id = $1
        """,
        service_id,
    )


async def set_slots_generated_until(
    conn: asyncpg.Connection, service_id: UUID, last_day: date
) -> None:
    await conn.execute(
        """
        UPDATE services
           SET slots_generated_until = $2
         WHERE id = $1
        """,
        service_id,
        last_day,
    )


async def select_services_due_top_up(
    conn: asyncpg.Connection, now: datetime, horizon_days: int
) -> list[UUID]:
    """Active services whose slots stop short of their horizon (their own `horizon_days`, else
    `horizon_days`) in their provider's zone."""
    rows = await conn.fetch(
        """
        SELECT s.id
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.is_active
           AND (s.slots_generated_until IS NULL
                OR s.slots_generated_until
                   < ($1::timestamptz AT TIME ZONE p.timezone)::date
                     + coalesce(s.horizon_days, $2::int) - 1)
         ORDER BY s.id
        """,
        now,
        horizon_days,
    )
    return [row["id"] for row in rows]


async def select_provider_service_by_name(
    conn: asyncpg.Connection, provider_id: UUID, name: str
) -> UUID | None:
    service_id: UUID | None = await conn.fetchval(
        """
        SELECT id
          FROM services
         WHERE provider_id = $1
           AND name = $2
        """,
        provider_id,
        name,
    )
    return service_id
