"""GET /api/dashboard/stats: figures checked against hand-computed expectations.

The provider is in London. "Now" is Tuesday 3 November 2026, a week after the clocks went
back (25 October), so October's late evenings are an hour ahead of UTC and November's are not.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from server.models.stats import select_provider_stats
from tests.conftest import BecomeProvider, SignUp

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)

_tokens = itertools.count(1)


async def insert_service(db: asyncpg.Connection, provider_id: str, currency: str = "GBP") -> UUID:
    """A service with no opening hours, so no generated slot gets in the way."""
    service_id: UUID = await db.fetchval(
        """
        INSERT INTO services (provider_id, name, price_cents, currency, duration_minutes,
                              max_appointments_per_day, hours)
        VALUES ($1, 'Massage', 1000, $2, 30, 20, '{}')
        RETURNING id
        """,
        UUID(provider_id),
        currency,
    )
    return service_id


async def insert_booking(
    db: asyncpg.Connection,
    service_id: UUID,
    local_start: str,
    status: str,
    *,
    payment: str = "pay_at_visit",
    price_cents: int = 1000,
    currency: str = "GBP",
    ended_by: str | None = None,
) -> None:
    """A booking starting at `local_start` (London wall-clock time), in `status`."""
    starts_at = datetime.fromisoformat(local_start).replace(tzinfo=LONDON)
    appointment_id = await db.fetchval(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token, booked,
                                  status, payment_status, customer_name, customer_email,
                                  manage_key_hash, price_cents, currency, booked_at)
        VALUES ($1, $2, $3::timestamptz, $4, $5, true, $6, $7, 'Grace', 'grace@example.com',
                'x', $8, $9, $3 - interval '2 days')
        RETURNING id
        """,
        service_id,
        starts_at.date(),
        starts_at,
        starts_at + timedelta(minutes=30),
        next(_tokens),
        status,
        payment,
        price_cents,
        currency,
    )
    if ended_by is not None:
        await db.execute(
            """
            INSERT INTO appointment_events (appointment_id, from_status, to_status, actor)
            VALUES ($1, 'PENDING', $2, $3)
            """,
            appointment_id,
            status,
            ended_by,
        )


@pytest.fixture
async def provider(become_provider: BecomeProvider) -> dict[str, Any]:
    return await become_provider(timezone="Europe/London")


async def test_figures_follow_the_providers_calendar_across_a_month_end_and_a_dst_change(
    db: asyncpg.Connection, provider: dict[str, Any]
) -> None:
    service = await insert_service(db, provider["id"])
    # Saturday 31 October, 23:30 BST (22:30 UTC): October, the week of 26 October.
    await insert_booking(db, service, "2026-10-31T23:30", "COMPLETED", price_cents=5000)
    # Sunday 1 November, 00:30 GMT: November, still the week of 26 October.
    await insert_booking(
        db, service, "2026-11-01T00:30", "COMPLETED", payment="paid", price_cents=3000
    )
    # This week (Monday 2 November onwards).
    await insert_booking(db, service, "2026-11-02T09:00", "CONFIRMED", price_cents=2000)
    await insert_booking(db, service, "2026-11-05T10:00", "PENDING")
    await insert_booking(
        db, service, "2026-11-02T07:00", "COMPLETED", payment="paid", currency="USD",
        price_cents=9999,
    )  # fmt: skip
    await insert_booking(
        db, service, "2026-11-02T08:00", "COMPLETED", payment="refunded", price_cents=700
    )
    await insert_booking(db, service, "2026-11-02T10:00", "CANCELLED", ended_by="customer")
    await insert_booking(db, service, "2026-11-02T11:00", "CANCELLED", ended_by="system")
    await insert_booking(db, service, "2026-11-02T12:00", "REJECTED", ended_by="provider")
    await insert_booking(db, service, "2026-11-02T13:00", "CANCELLED", ended_by="provider")
    # Monday 19 October, 00:30 BST, which is still Sunday 18 October in UTC.
    await insert_booking(db, service, "2026-10-19T00:30", "NO_SHOW")
    # Last December (in the 12 months) and the November before (outside them).
    await insert_booking(
        db, service, "2025-12-15T10:00", "COMPLETED", payment="paid", price_cents=1000
    )
    await insert_booking(db, service, "2025-11-30T10:00", "COMPLETED", price_cents=1500)

    stats = (await select_provider_stats(db, UUID(provider["id"]), NOW)).to_json()

    assert stats["currency"] == "GBP"
    assert stats["earnings_this_month_cents"] == 3000
    assert stats["revenue_cents"] == 5000 + 3000 + 1000 + 1500
    assert stats["appointments_this_week"] == 4
    assert stats["appointments_this_month"] == 5
    assert stats["no_shows"] == 1
    assert stats["cancellations"] == 2
    assert stats["completed"] == 6

    weeks = {week["week_start"]: week["count"] for week in stats["per_week"]}
    assert list(weeks) == [(date(2026, 8, 17) + timedelta(weeks=n)).isoformat() for n in range(12)]
    assert weeks["2026-11-02"] == 4
    assert weeks["2026-10-26"] == 2
    assert weeks["2026-10-19"] == 1
    assert sum(weeks.values()) == 7

    months = {month["month"]: month["count"] for month in stats["per_month"]}
    assert next(iter(months)) == "2025-12"
    assert list(months)[-1] == "2026-11"
    assert len(months) == 12
    assert months["2025-12"] == 1
    assert months["2026-10"] == 2
    assert months["2026-11"] == 5
    assert sum(months.values()) == 8


async def test_a_provider_in_new_york_counts_by_new_york_time(
    db: asyncpg.Connection, become_provider: BecomeProvider
) -> None:
    provider = await become_provider(timezone="America/New_York")
    service = await insert_service(db, provider["id"], currency="USD")
    # 23:00 on 31 October in New York is 03:00 on 1 November in UTC: October there.
    starts_at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    await db.execute(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token, booked,
                                  status, payment_status, customer_name, customer_email,
                                  manage_key_hash, price_cents, currency)
        VALUES ($1, '2026-10-31', $2::timestamptz, $2 + interval '30 minutes', 1, true, 'COMPLETED',
                'paid', 'Grace', 'grace@example.com', 'x', 4200, 'USD')
        """,
        service,
        starts_at,
    )
    stats = (await select_provider_stats(db, UUID(provider["id"]), NOW)).to_json()
    assert stats["currency"] == "USD"
    assert stats["earnings_this_month_cents"] == 0
    assert stats["revenue_cents"] == 4200
    months = {month["month"]: month["count"] for month in stats["per_month"]}
    assert months["2026-10"] == 1
    assert months["2026-11"] == 0


async def test_a_new_provider_sees_zeros_and_full_series(
    client: httpx.AsyncClient, provider: dict[str, Any]
) -> None:
    response = await client.get("/api/dashboard/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["earnings_this_month_cents"] == 0
    assert stats["revenue_cents"] == 0
    assert len(stats["per_week"]) == 12
    assert len(stats["per_month"]) == 12
    this_week = datetime.now(UTC).astimezone(LONDON).date()
    this_week -= timedelta(days=this_week.weekday())
    assert stats["per_week"][-1]["week_start"] == this_week.isoformat()
    assert all(entry["count"] == 0 for entry in stats["per_week"] + stats["per_month"])


async def test_stats_are_for_providers_only(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    assert (await client.get("/api/dashboard/stats")).status_code == 401
    await sign_up()
    response = await client.get("/api/dashboard/stats")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_provider"
