"""The services API as the contract describes it: create, change, delete, search, slots."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.conftest import BecomeProvider, LiveApp

EVERY_DAY = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def service_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Deep tissue massage",
        "description": "Sixty minutes of firm pressure for tired muscles.",
        "price_cents": 6000,
        "currency": "gbp",
        "duration_minutes": 60,
        "max_appointments_per_day": 8,
        "hours": EVERY_DAY,
        "category": "Wellness",
        "location": "1 High Street, London",
    }
    body.update(changes)
    return body


async def create_service(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/services", json=service_body(**changes))
    assert response.status_code == 201, response.text
    service: dict[str, Any] = response.json()["service"]
    return service


async def test_a_provider_creates_a_service_and_its_slots_exist_when_the_response_returns(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> None:
    provider = await become_provider()
    service = await create_service(client)
    assert service["provider"] == {
        "id": provider["id"],
        "business_name": provider["business_name"],
        "slug": provider["slug"],
        "timezone": "Europe/London",
    }
    assert service["currency"] == "GBP"
    assert service["is_active"] is True
    assert service["hours"] == EVERY_DAY
    assert set(service) == {
        "id", "provider", "name", "description", "category", "location", "price_cents",
        "currency", "duration_minutes", "max_appointments_per_day", "hours", "is_active",
        "buffer_minutes", "min_notice_minutes", "horizon_days", "cancel_cutoff_minutes",
    }  # fmt: skip
    days = await db.fetchval(
        "SELECT count(DISTINCT slot_date) FROM appointments WHERE service_id = $1::uuid",
        service["id"],
    )
    assert days >= 29  # today may already be over; the next 29 days are whole
    until = await db.fetchval(
        "SELECT slots_generated_until FROM services WHERE id = $1::uuid", service["id"]
    )
    today = datetime.now(ZoneInfo("Europe/London")).date()
    assert until == today + timedelta(days=29)


async def test_creating_a_service_needs_a_signed_in_provider(
    client: httpx.AsyncClient, live_app: LiveApp
) -> None:
    response = await client.post("/api/services", json=service_body())
    assert response.status_code == 401
    await client.post(
        "/api/auth/signup", json={"email": "c@example.com", "password": "12345678", "name": "C"}
    )
    response = await client.post("/api/services", json=service_body())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_provider"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"max_appointments_per_day": 0}, "max_appointments_per_day"),
        ({"max_appointments_per_day": 501}, "max_appointments_per_day"),
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": "12"}, "price_cents"),
        ({"price_cents": 12.5}, "price_cents"),
        ({"price_cents": True}, "price_cents"),
        ({"currency": "pounds"}, "currency"),
        ({"description": "x" * 5001}, "description"),
        ({"category": "c" * 101}, "category"),
        ({"hours": {"mon": [["17:00", "09:00"]]}}, "hours.mon.0"),
        ({"hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "hours.mon"),
        ({"hours": {"someday": []}}, "hours.someday"),
        ({"hours": {"mon": [["09:00", "24:30"]]}}, "hours.mon.0"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_service_fields_are_refused_with_the_field_named(
    client: httpx.AsyncClient, become_provider: BecomeProvider, changes: dict[str, Any], field: str
) -> None:
    await become_provider()
    response = await client.post("/api/services", json=service_body(**changes))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error


async def test_missing_required_fields_are_all_named(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    response = await client.post("/api/services", json={"name": "Haircut"})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert {"price_cents", "currency", "duration_minutes", "hours"} <= set(fields)


async def test_the_owner_changes_some_fields_and_the_rest_stay(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    service = await create_service(client)
    response = await client.patch(
        f"/api/services/{service['id']}", json={"price_cents": 7500, "location": None}
    )
    assert response.status_code == 200, response.text
    changed = response.json()["service"]
    assert changed["price_cents"] == 7500
    assert changed["location"] is None
    assert changed["name"] == service["name"]
    response = await client.patch(f"/api/services/{service['id']}", json={"name": None})
    assert response.status_code == 422
    assert "name" in response.json()["error"]["fields"]


async def test_another_provider_cannot_see_a_service_to_change_or_delete(
    client: httpx.AsyncClient, become_provider: BecomeProvider, live_app: LiveApp
) -> None:
    await become_provider()
    service = await create_service(client)
    async with live_app.client() as other:
        await other.post(
            "/api/auth/signup", json={"email": "o@example.com", "password": "12345678", "name": "O"}
        )
        await other.post("/api/providers", json={"business_name": "Other", "timezone": "UTC"})
        patch = await other.patch(f"/api/services/{service['id']}", json={"price_cents": 1})
        delete = await other.delete(f"/api/services/{service['id']}")
    assert patch.status_code == 404
    assert delete.status_code == 404
    assert patch.json()["error"]["code"] == "service_not_found"


async def test_a_deleted_service_is_not_listed_and_its_future_free_slots_are_gone(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> None:
    await become_provider()
    service = await create_service(client)
    response = await client.delete(f"/api/services/{service['id']}")
    assert response.status_code == 204
    listed = (await client.get("/api/services")).json()
    assert listed == {"services": [], "total": 0, "total_is_estimate": False}
    shown = (await client.get(f"/api/services/{service['id']}")).json()["service"]
    assert shown["is_active"] is False
    free_future = await db.fetchval(
        """
        SELECT count(*) FROM appointments
         WHERE service_id = $1::uuid AND NOT booked AND starts_at > now()
        """,
        service["id"],
    )
    assert free_future == 0
    again = await client.delete(f"/api/services/{service['id']}")
    assert again.status_code == 404


async def test_ids_that_are_not_uuids_or_unknown_give_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/services/not-a-uuid", "/api/services/not-a-uuid/slots"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "service_not_found"
    unknown = await client.get("/api/services/00000000-0000-0000-0000-000000000000/slots")
    assert unknown.status_code == 404


async def test_search_is_typo_tolerant_ranked_and_paged(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider(business_name="Harbour Physio")
    massage = await create_service(client)
    await create_service(
        client, name="Sports physiotherapy", category="Physio", description="Knees and backs."
    )
    await create_service(client, name="Yoga class", category="Fitness", description="Stretch.")
    found = (await client.get("/api/services", params={"q": "massge"})).json()
    assert [service["id"] for service in found["services"]][:1] == [massage["id"]]
    by_provider = (await client.get("/api/services", params={"q": "harbor"})).json()
    assert by_provider["total"] == 3
    physio = (await client.get("/api/services", params={"q": "physiotherapy"})).json()
    assert physio["services"][0]["name"] == "Sports physiotherapy"
    fitness = (await client.get("/api/services", params={"category": "fitness"})).json()
    assert [service["name"] for service in fitness["services"]] == ["Yoga class"]
    page = (await client.get("/api/services", params={"limit": 2, "offset": 2})).json()
    assert page["total"] == 3
    assert len(page["services"]) == 1
    past_end = (await client.get("/api/services", params={"offset": 10})).json()
    assert past_end == {"services": [], "total": 3, "total_is_estimate": False}
    nothing = (await client.get("/api/services", params={"q": "zzzzqqq"})).json()
    assert nothing == {"services": [], "total": 0, "total_is_estimate": False}
    wildcard = (await client.get("/api/services", params={"q": "%"})).json()
    assert wildcard["total"] == 0


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}, {"q": "x" * 201}]
)
async def test_bad_paging_is_refused(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/api/services", params=params)
    assert response.status_code == 422


async def test_slots_default_to_a_week_in_the_providers_zone_with_offsets(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider(timezone="America/New_York")
    service = await create_service(client)
    zone = ZoneInfo("America/New_York")
    today = datetime.now(zone).date()
    slots = (await client.get(f"/api/services/{service['id']}/slots")).json()["slots"]
    dates = {date.fromisoformat(slot["slot_date"]) for slot in slots}
    assert dates <= {today + timedelta(days=n) for n in range(7)}
    assert len(dates) >= 6
    first = slots[0]
    assert set(first) == {
        "id", "service_id", "slot_date", "start_time", "end_time", "token", "available",
    }  # fmt: skip
    start = datetime.fromisoformat(first["start_time"])
    assert start.utcoffset() == start.astimezone(zone).utcoffset()
    assert first["available"] is True
    starts = [datetime.fromisoformat(slot["start_time"]) for slot in slots]
    assert starts == sorted(starts)


async def test_a_slot_range_is_checked(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    service = await create_service(client)
    path = f"/api/services/{service['id']}/slots"
    ok = await client.get(path, params={"from": "2030-01-01", "to": "2030-03-03"})
    assert ok.status_code == 200  # 62 days
    assert ok.json() == {"slots": []}
    too_long = await client.get(path, params={"from": "2030-01-01", "to": "2030-03-04"})
    assert too_long.status_code == 422
    backwards = await client.get(path, params={"from": "2030-01-02", "to": "2030-01-01"})
    assert backwards.status_code == 422
    bad = await client.get(path, params={"from": "2030-13-01"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"from": "A date in the form YYYY-MM-DD."}


async def test_creating_a_service_announces_its_slots_on_redis(
    client: httpx.AsyncClient, become_provider: BecomeProvider, redis_client: Redis
) -> None:
    await become_provider()
    pubsub = redis_client.pubsub()
    await pubsub.psubscribe("appointly:service:*:slots")
    await pubsub.get_message(timeout=1)  # the subscription confirmation
    try:
        service = await create_service(client)
        channel = f"appointly:service:{service['id']}:slots".encode()
        # Pub/sub is shared by every Redis database index: skip other runs' services.
        async with asyncio.timeout(5):
            message = None
            while message is None or message["channel"] != channel:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        body = orjson.loads(message["data"])
        assert body["service_id"] == service["id"]
    finally:
        await pubsub.aclose()


async def test_a_provider_lists_its_own_services_including_deleted_ones(
    client: httpx.AsyncClient, become_provider: BecomeProvider, live_app: LiveApp
) -> None:
    await become_provider()
    kept = await create_service(client, name="Acupuncture")
    gone = await create_service(client, name="Cupping")
    assert (await client.delete(f"/api/services/{gone['id']}")).status_code == 204
    async with live_app.client() as other:
        await other.post(
            "/api/auth/signup",
            json={"email": "bob@example.com", "password": "12345678", "name": "Bob"},
        )
        await other.post(
            "/api/providers", json={"business_name": "Bob's", "timezone": "Europe/Paris"}
        )
        await other.post("/api/services", json=service_body(name="Bob's haircut"))
        theirs = (await other.get("/api/providers/me/services")).json()["services"]
    mine = (await client.get("/api/providers/me/services")).json()["services"]
    assert [(s["id"], s["is_active"]) for s in mine] == [(kept["id"], True), (gone["id"], False)]
    assert [s["name"] for s in theirs] == ["Bob's haircut"]


async def test_listing_own_services_needs_a_provider(
    client: httpx.AsyncClient, live_app: LiveApp
) -> None:
    assert (await client.get("/api/providers/me/services")).status_code == 401
    await client.post(
        "/api/auth/signup", json={"email": "c@example.com", "password": "12345678", "name": "C"}
    )
    response = await client.get("/api/providers/me/services")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_provider"
