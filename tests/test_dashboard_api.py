"""GET /api/dashboard/schedule and /api/dashboard/appointments: what a provider's day holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import BecomeProvider, LiveApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow

ZONE = "Pacific/Kiritimati"  # UTC+14: its "today" is rarely the server's


@pytest.fixture
async def provider(client: httpx.AsyncClient, become_provider: BecomeProvider) -> dict[str, Any]:
    return await become_provider(timezone=ZONE)


async def book_slot(guest: httpx.AsyncClient, slot: dict[str, Any], name: str) -> str:
    response = await book(guest, slot["id"], customer_name=name)
    assert response.status_code == 201, response.text
    appointment_id: str = response.json()["appointment"]["id"]
    return appointment_id


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["appointments"]]


async def test_the_schedule_lists_the_days_bookings_of_every_service_by_start_time(
    live_app: LiveApp, client: httpx.AsyncClient, guest: httpx.AsyncClient, provider: Any
) -> None:
    day = tomorrow(ZONE)
    massage = await create_service(client, name="Massage")
    physio = await create_service(client, name="Physio", duration_minutes=60)
    massage_slots = await free_slots(guest, massage["id"], day)
    physio_slots = await free_slots(guest, physio["id"], day)
    late = await book_slot(guest, massage_slots[5], "Late Lucy")
    early = await book_slot(guest, physio_slots[0], "Early Eve")
    rejected = await book_slot(guest, massage_slots[2], "Rejected Rob")
    assert (await client.post(f"/api/appointments/{rejected}/reject")).status_code == 200
    await book_slot(
        guest, (await free_slots(guest, massage["id"], day + timedelta(days=1)))[0], "X"
    )
    async with live_app.client() as rival:
        await make_provider(rival, business_name="Rival", email="rival@example.com")
        rival_service = await create_service(rival)
        await book_slot(guest, (await free_slots(guest, rival_service["id"], day))[0], "Y")

    response = await client.get("/api/dashboard/schedule", params={"date": day.isoformat()})

    assert ids(response) == [early, rejected, late]
    body = response.json()
    assert body["date"] == day.isoformat()
    by_id = {item["id"]: item for item in body["appointments"]}
    assert by_id[rejected]["status"] == "REJECTED"
    assert by_id[early]["service_name"] == "Physio"
    assert by_id[early]["customer_name"] == "Early Eve"
    assert by_id[early]["payment_status"] == "pay_at_visit"
    assert by_id[early]["start_time"].endswith("+14:00")


async def test_the_schedule_defaults_to_today_in_the_providers_time_zone(
    client: httpx.AsyncClient, provider: Any
) -> None:
    before = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    response = await client.get("/api/dashboard/schedule")
    after = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    assert response.status_code == 200
    assert response.json()["date"] in (before.isoformat(), after.isoformat())
    assert response.json()["appointments"] == []


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "tomorrow", "2026-1-1"])
async def test_a_bad_schedule_date_is_a_422_naming_the_field(
    client: httpx.AsyncClient, provider: Any, bad: str
) -> None:
    response = await client.get("/api/dashboard/schedule", params={"date": bad})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "date" in response.json()["error"]["fields"]


async def test_appointments_by_status_are_the_providers_own_soonest_first(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, provider: Any
) -> None:
    service = await create_service(client)
    day = tomorrow(ZONE)
    later = await book_slot(guest, (await free_slots(guest, service["id"], day))[3], "Later")
    next_week = await book_slot(
        guest, (await free_slots(guest, service["id"], day + timedelta(days=7)))[0], "Week"
    )
    sooner = await book_slot(guest, (await free_slots(guest, service["id"], day))[1], "Sooner")
    confirmed = await book_slot(guest, (await free_slots(guest, service["id"], day))[0], "Conf")
    assert (await client.post(f"/api/appointments/{confirmed}/confirm")).status_code == 200

    pending = await client.get("/api/dashboard/appointments", params={"status": "PENDING"})
    assert ids(pending) == [sooner, later, next_week]
    assert ids(await client.get("/api/dashboard/appointments")) == [sooner, later, next_week]
    done = await client.get("/api/dashboard/appointments", params={"status": "CONFIRMED"})
    assert ids(done) == [confirmed]
    limited = await client.get("/api/dashboard/appointments", params={"limit": "2"})
    assert ids(limited) == [sooner, later]
    assert ids(await client.get("/api/dashboard/appointments?status=NO_SHOW")) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"status": "LOST"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "lots"}, "limit"),
    ],
)
async def test_a_bad_status_or_limit_is_a_422_naming_the_field(
    client: httpx.AsyncClient, provider: Any, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/dashboard/appointments", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/api/dashboard/schedule", "/api/dashboard/appointments"])
async def test_the_dashboard_is_for_signed_in_providers_only(
    client: httpx.AsyncClient, sign_up: Any, path: str
) -> None:
    anonymous = await client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    await sign_up()
    customer = await client.get(path)
    assert customer.status_code == 403
    assert customer.json()["error"]["code"] == "not_provider"


async def test_the_openapi_document_describes_the_dashboard_routes_and_their_errors(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    schedule = paths["/api/dashboard/schedule"]["get"]
    assert {"200", "401", "403", "422"} <= set(schedule["responses"])
    assert any(parameter["name"] == "date" for parameter in schedule["parameters"])
    listing = paths["/api/dashboard/appointments"]["get"]
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert "PENDING" in str(status["schema"])
    for action in ("confirm", "reject", "cancel", "complete", "no-show"):
        operation = paths[f"/api/appointments/{{appointment_id}}/{action}"]["post"]
        assert operation["description"] or operation["summary"]
        assert "requestBody" in operation
        assert {"200", "401", "403", "404", "409", "422"} <= set(operation["responses"])
