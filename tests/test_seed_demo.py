"""`appointly seed-demo`: demo providers, services and slots; nothing new the second time."""

from __future__ import annotations

import asyncpg
import httpx

from server.auth.passwords import verify_password
from server.infra.config import Config
from server.usecases.demo import DEMO_PASSWORD, DEMO_PROVIDERS, seed_demo


async def table_counts(db: asyncpg.Connection) -> dict[str, int]:
    return {
        table: await db.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("users", "providers", "services", "appointments", "waitlist_entries")
    }


async def test_seeding_creates_three_providers_with_services_and_slots(
    database_url: str, redis_url: str, db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    summary = await seed_demo(Config(database_url=database_url, redis_url=redis_url))
    assert "3 providers" in summary
    counts = await table_counts(db)
    assert counts["providers"] == 3
    assert counts["users"] == 4  # and the demo customer
    assert counts["services"] == sum(len(demo.services) for demo in DEMO_PROVIDERS)
    assert counts["appointments"] > 0
    zones = {row["timezone"] for row in await db.fetch("SELECT timezone FROM providers")}
    assert zones == {"Europe/London", "America/New_York", "Asia/Tokyo"}
    unserved = await db.fetchval(
        """
        SELECT count(*) FROM services AS s
         WHERE NOT EXISTS (SELECT 1 FROM appointments AS a WHERE a.service_id = s.id)
        """
    )
    assert unserved == 0
    listed = (await client.get("/api/services", params={"limit": 100})).json()
    assert listed["total"] == counts["services"]


async def test_seeding_twice_creates_nothing_new(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    config = Config(database_url=database_url, redis_url=redis_url)
    await seed_demo(config)
    before = await table_counts(db)
    summary = await seed_demo(config)
    assert "0 users, 0 providers, 0 services and 0 bookings" in summary
    assert await table_counts(db) == before


async def test_demo_providers_can_sign_in_with_the_demo_password(
    database_url: str, redis_url: str, db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    await seed_demo(Config(database_url=database_url, redis_url=redis_url))
    stored = await db.fetchval(
        "SELECT password_hash FROM users WHERE email = $1", DEMO_PROVIDERS[0].email
    )
    assert await verify_password(stored, DEMO_PASSWORD)
    response = await client.post(
        "/api/auth/login", json={"email": DEMO_PROVIDERS[2].email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200
    mine = await client.get("/api/providers/me")
    assert mine.json()["provider"]["timezone"] == "Asia/Tokyo"


async def test_the_demo_has_past_and_future_bookings_in_every_state(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    await seed_demo(Config(database_url=database_url, redis_url=redis_url))
    states = {
        row["status"]: row["n"]
        for row in await db.fetch(
            "SELECT status, count(*) AS n FROM appointments WHERE booked GROUP BY status"
        )
    }
    assert set(states) == {"PENDING", "CONFIRMED", "COMPLETED", "CANCELLED", "REJECTED", "NO_SHOW"}
    assert await db.fetchval("SELECT count(*) FROM appointments WHERE booked AND starts_at < now()")
    assert await db.fetchval("SELECT count(*) FROM appointments WHERE booked AND starts_at > now()")
    # Every booking has its history, and what the history says is where the booking is.
    mismatched = await db.fetchval(
        """
        SELECT count(*)
          FROM appointments AS a
         WHERE a.booked
           AND a.status IS DISTINCT FROM (SELECT e.to_status
                                            FROM appointment_events AS e
                                           WHERE e.appointment_id = a.id
                                           ORDER BY e.id DESC
                                           LIMIT 1)
        """
    )
    assert mismatched == 0


async def test_a_demo_provider_sees_figures_on_the_dashboard(
    database_url: str, redis_url: str, client: httpx.AsyncClient
) -> None:
    await seed_demo(Config(database_url=database_url, redis_url=redis_url))
    login = {"email": DEMO_PROVIDERS[0].email, "password": DEMO_PASSWORD}
    assert (await client.post("/api/auth/login", json=login)).status_code == 200
    stats = (await client.get("/api/dashboard/stats")).json()
    assert stats["revenue_cents"] > 0
    assert stats["completed"] > 0
    assert sum(week["count"] for week in stats["per_week"]) > 0


async def test_the_demo_has_a_full_day_with_people_waiting(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    await seed_demo(Config(database_url=database_url, redis_url=redis_url))
    lines = await db.fetch(
        """
        SELECT e.service_id, e.waitlist_date, count(*) AS waiting,
               bool_or(e.customer_user_id IS NOT NULL) AS has_demo_customer
          FROM waitlist_entries AS e
         WHERE e.status = 'waiting'
         GROUP BY e.service_id, e.waitlist_date
        """
    )
    assert len(lines) == 1
    (line,) = lines
    assert line["waiting"] == 3 and line["has_demo_customer"]
    free_that_day = await db.fetchval(
        """
        SELECT count(*) FROM appointments
         WHERE service_id = $1 AND slot_date = $2 AND occupies_slot AND NOT booked
        """,
        line["service_id"],
        line["waitlist_date"],
    )
    assert free_that_day == 0
