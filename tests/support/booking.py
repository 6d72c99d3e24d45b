"""Helpers for tests about booking: a bookable service, its free slots, and booking one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx

EVERY_DAY_9_TO_5 = {
    day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}
GUEST = {"customer_name": "Grace Hopper", "customer_email": "grace@example.com"}


def service_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Consultation",
        "description": "A friendly half-hour chat.",
        "price_cents": 0,
        "currency": "GBP",
        "duration_minutes": 30,
        "max_appointments_per_day": 16,
        "hours": EVERY_DAY_9_TO_5,
        "category": "Health",
    }
    body.update(changes)
    return body


async def create_service(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """A service of the provider signed in on `http`, open 09:00-17:00 every day by default."""
    response = await http.post("/api/services", json=service_body(**changes))
    assert response.status_code == 201, response.text
    service: dict[str, Any] = response.json()["service"]
    return service


def tomorrow(timezone: str = "Europe/London") -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date() + timedelta(days=1)


async def slots_of(
    http: httpx.AsyncClient, service_id: str, first: date, last: date | None = None
) -> list[dict[str, Any]]:
    response = await http.get(
        f"/api/services/{service_id}/slots",
        params={"from": first.isoformat(), "to": (last or first).isoformat()},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["slots"]
    return found


async def free_slots(http: httpx.AsyncClient, service_id: str, day: date) -> list[dict[str, Any]]:
    return [slot for slot in await slots_of(http, service_id, day) if slot["available"]]


async def book(
    http: httpx.AsyncClient, slot_id: str, headers: dict[str, str] | None = None, **fields: Any
) -> httpx.Response:
    body = {**GUEST, "slot_id": slot_id, **fields}
    return await http.post("/api/bookings", json=body, headers=headers)


async def cancelled_history(db: asyncpg.Connection, appointment_id: str) -> list[tuple[str, str]]:
    """Who cancelled a booking and why, from its history (one line per cancellation)."""
    rows = await db.fetch(
        """
        SELECT actor, reason FROM appointment_events
         WHERE appointment_id = $1::uuid AND to_status = 'CANCELLED'
        """,
        appointment_id,
    )
    return [(row["actor"], row["reason"]) for row in rows]


def manage_key(booking: dict[str, Any]) -> str:
    """The key of a POST /api/bookings answer's manage link."""
    key: str = parse_qs(urlsplit(booking["manage_url"]).query)["key"][0]
    return key


async def make_started(db: asyncpg.Connection, appointment_id: str) -> None:
    """Move a booking two days back, so its start has passed (no live row is there then)."""
    await db.execute(
        """
        UPDATE appointments
           SET starts_at = starts_at - interval '2 days',
               ends_at = ends_at - interval '2 days',
               slot_date = slot_date - 2
         WHERE id = $1::uuid
        """,
        appointment_id,
    )
