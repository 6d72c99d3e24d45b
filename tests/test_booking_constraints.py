"""The database itself refuses a double booking, whatever the application code does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from tests.conftest import BecomeProvider

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
BOOKED = {
    "booked": True,
    "status": "PENDING",
    "payment_status": "pay_at_visit",
    "customer_name": "Grace",
    "customer_email": "grace@example.com",
    "manage_key_hash": "key",
    "price_cents": 0,
    "currency": "GBP",
}


@pytest.fixture
async def service_id(client: httpx.AsyncClient, become_provider: BecomeProvider) -> UUID:
    await become_provider()
    response = await client.post(
        "/api/services",
        json={
            "name": "Consultation",
            "price_cents": 0,
            "currency": "GBP",
            "duration_minutes": 30,
            "max_appointments_per_day": 4,
            "hours": {},
        },
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["service"]["id"])


async def insert_row(
    db: asyncpg.Connection,
    service_id: UUID,
    start: datetime,
    minutes: int,
    token: int,
    **fields: Any,
) -> None:
    columns = ["service_id", "slot_date", "starts_at", "ends_at", "token", *fields]
    values = [service_id, start.date(), start, start + timedelta(minutes=minutes), token]
    placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    await db.execute(
        f"INSERT INTO appointments ({', '.join(columns)}) VALUES ({placeholders})",
        *values,
        *fields.values(),
    )


async def test_two_live_rows_for_one_start_are_refused(
    db: asyncpg.Connection, service_id: UUID
) -> None:
    await insert_row(db, service_id, START, 30, 1)
    with pytest.raises(asyncpg.UniqueViolationError):
        await insert_row(db, service_id, START, 30, 2)


async def test_two_live_rows_with_one_token_in_a_day_are_refused(
    db: asyncpg.Connection, service_id: UUID
) -> None:
    await insert_row(db, service_id, START, 30, 1)
    with pytest.raises(asyncpg.UniqueViolationError):
        await insert_row(db, service_id, START + timedelta(hours=1), 30, 1)


async def test_overlapping_bookings_are_refused(db: asyncpg.Connection, service_id: UUID) -> None:
    await insert_row(db, service_id, START, 60, 1, **BOOKED)
    with pytest.raises(asyncpg.ExclusionViolationError):
        await insert_row(db, service_id, START + timedelta(minutes=30), 60, 2, **BOOKED)


async def test_a_cancelled_booking_frees_its_time_for_a_new_row(
    db: asyncpg.Connection, service_id: UUID
) -> None:
    await insert_row(db, service_id, START, 30, 1, **{**BOOKED, "status": "CANCELLED"})
    await insert_row(db, service_id, START, 30, 1, **BOOKED)
    live = await db.fetchval(
        "SELECT count(*) FROM appointments WHERE service_id = $1 AND occupies_slot", service_id
    )
    assert live == 1


async def test_a_booked_row_must_name_its_customer(
    db: asyncpg.Connection, service_id: UUID
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await insert_row(db, service_id, START, 30, 1, booked=True, status="PENDING")


async def test_status_values_are_checked(db: asyncpg.Connection, service_id: UUID) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await insert_row(db, service_id, START, 30, 1, **{**BOOKED, "status": "MAYBE"})
