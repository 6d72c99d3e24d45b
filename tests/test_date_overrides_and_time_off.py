"""Date overrides and time off: applied at once to free slots, live, bookings kept and listed as
conflicts, respected by later generation, undone by removing them; and the race between a time
off and bookings of the slots it covers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from jobs.slots import top_up_all_services
from server.infra.config import Config
from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import book, create_service, slots_of
from tests.support.sockets import watch_slots

LONDON = ZoneInfo("Europe/London")


def local_day(days_ahead: int) -> date:
    return datetime.now(UTC).astimezone(LONDON).date() + timedelta(days=days_ahead)


def local_times(slots: list[dict[str, Any]]) -> list[str]:
    return [slot["start_time"][11:16] for slot in slots]


async def test_an_override_replaces_a_days_free_slots_and_lists_bookings_left_outside(
    client: httpx.AsyncClient, become_provider: BecomeProvider, live_app: LiveApp
) -> None:
    await become_provider()
    service = await create_service(client, duration_minutes=60, max_appointments_per_day=8)
    day = local_day(3)
    before = await slots_of(client, service["id"], day)
    early, inside = before[0], before[2]  # 09:00 and 11:00
    async with live_app.client() as guest:
        assert (await book(guest, early["id"])).status_code == 201
        assert (await book(guest, inside["id"])).status_code == 201

    response = await client.put(
        f"/api/services/{service['id']}/date-overrides/{day.isoformat()}",
        json={"hours": [["10:00", "14:00"]]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["override"] == {"date": day.isoformat(), "hours": [["10:00", "14:00"]]}
    assert [conflict["id"] for conflict in body["conflicts"]] == [early["id"]]

    after = await slots_of(client, service["id"], day)
    assert local_times(after) == ["09:00", "10:00", "11:00", "12:00", "13:00"]
    kept = {slot["id"]: slot for slot in after}
    assert kept[early["id"]]["available"] is False  # booked, untouched
    assert kept[inside["id"]]["available"] is False
    listed = await client.get(f"/api/services/{service['id']}/date-overrides")
    assert listed.json() == {"overrides": [body["override"]]}

    removed = await client.delete(f"/api/services/{service['id']}/date-overrides/{day}")
    assert removed.status_code == 204
    assert local_times(await slots_of(client, service["id"], day)) == local_times(before)
    again = await client.delete(f"/api/services/{service['id']}/date-overrides/{day}")
    assert again.status_code == 404


async def test_closing_a_day_is_seen_live_by_its_watchers(
    client: httpx.AsyncClient, become_provider: BecomeProvider, live_app: LiveApp
) -> None:
    await become_provider()
    service = await create_service(client)
    day = local_day(2)
    async with watch_slots(live_app.url, service["id"], day) as watcher:
        assert watcher.view
        response = await client.put(
            f"/api/services/{service['id']}/date-overrides/{day}", json={"hours": []}
        )
        assert response.status_code == 200, response.text
        await watcher.wait_for_view(lambda view: not view)


async def test_override_validation_names_the_bad_parts(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    service = await create_service(client)
    url = f"/api/services/{service['id']}/date-overrides"
    cases = [
        (f"{url}/{local_day(1)}", {"hours": [["14:00", "10:00"]]}, "hours.0"),
        (f"{url}/{local_day(1)}", {"hours": [["09:00", "12:00"], ["11:00", "13:00"]]}, "hours"),
        (f"{url}/{local_day(-2)}", {"hours": []}, "date"),
        (f"{url}/2026-02-30", {"hours": []}, "date"),
        (f"{url}/tomorrow", {"hours": []}, "date"),
    ]
    for path, body, field in cases:
        response = await client.put(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert field in response.json()["error"]["fields"], response.text


async def test_someone_elses_service_has_no_overrides_for_you(
    client: httpx.AsyncClient, become_provider: BecomeProvider, live_app: LiveApp
) -> None:
    await become_provider()
    service = await create_service(client)
    async with live_app.client() as other:
        await other.post(
            "/api/auth/signup",
            json={"email": "eve@example.com", "password": "correct horse", "name": "Eve"},
        )
        url = f"/api/services/{service['id']}/date-overrides"
        assert (await other.get(url)).status_code == 404
        put = await other.put(f"{url}/{local_day(1)}", json={"hours": []})
        assert put.status_code == 404


async def test_time_off_closes_every_service_keeps_bookings_and_lists_them(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    live_app: LiveApp,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    cut = await create_service(client, name="Cut")
    colour = await create_service(client, name="Colour", duration_minutes=60)
    day = local_day(4)
    booked = (await slots_of(client, cut["id"], day))[4]  # 11:00-11:30
    async with live_app.client() as guest:
        assert (await book(guest, booked["id"])).status_code == 201
    before = {row["id"]: row for row in await db.fetch("SELECT * FROM appointments WHERE booked")}

    # Wall-clock times in the provider's zone: 10:00 to 13:00 that day.
    response = await client.post(
        "/api/providers/me/time-off",
        json={"starts_at": f"{day}T10:00", "ends_at": f"{day}T13:00", "reason": "Dentist"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["time_off"]["reason"] == "Dentist"
    assert body["time_off"]["starts_at"].startswith(f"{day}T10:00:00")
    assert [conflict["id"] for conflict in body["conflicts"]] == [booked["id"]]

    assert local_times(await slots_of(client, cut["id"], day)) == [
        "09:00", "09:30", "11:00", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30",
        "16:00", "16:30",
    ]  # fmt: skip
    assert "10:00" not in local_times(await slots_of(client, colour["id"], day))
    after = {row["id"]: row for row in await db.fetch("SELECT * FROM appointments WHERE booked")}
    assert after == before  # not moved, not cancelled

    listed = (await client.get("/api/providers/me/time-off")).json()["time_off"]
    assert listed == [body["time_off"]]
    gone = await client.delete(f"/api/providers/me/time-off/{body['time_off']['id']}")
    assert gone.status_code == 204
    assert "10:00" in local_times(await slots_of(client, colour["id"], day))
    assert (await client.get("/api/providers/me/time-off")).json() == {"time_off": []}


async def test_time_off_must_end_after_it_starts(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    response = await client.post(
        "/api/providers/me/time-off",
        json={"starts_at": "2027-01-02T10:00", "ends_at": "2027-01-02T09:00"},
    )
    assert response.status_code == 422
    assert "ends_at" in response.json()["error"]["fields"]
    bad = await client.post(
        "/api/providers/me/time-off", json={"starts_at": "soon", "ends_at": "later"}
    )
    assert bad.status_code == 422


async def test_later_generation_respects_overrides_and_time_off(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    db_pool: Any,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    service = await create_service(client)
    closed, short, away = local_day(35), local_day(36), local_day(37)
    url = f"/api/services/{service['id']}/date-overrides"
    assert (await client.put(f"{url}/{closed}", json={"hours": []})).status_code == 200
    assert (
        await client.put(f"{url}/{short}", json={"hours": [["09:00", "10:00"]]})
    ).status_code == 200
    response = await client.post(
        "/api/providers/me/time-off",
        json={"starts_at": f"{away}T00:00", "ends_at": f"{away + timedelta(days=1)}T00:00"},
    )
    assert response.status_code == 201
    # The daily top-up, run as if ten days had passed, reaches those dates.
    later = datetime.now(UTC) + timedelta(days=10)
    assert await top_up_all_services(db_pool, None, Config(slot_horizon_days=30), now=later) > 0
    assert await slots_of(client, service["id"], closed) == []
    assert local_times(await slots_of(client, service["id"], short)) == ["09:00", "09:30"]
    assert await slots_of(client, service["id"], away) == []
    # A regeneration (new duration) keeps to them as well.
    soon = local_day(5)
    assert (
        await client.put(f"{url}/{soon}", json={"hours": [["09:00", "10:00"]]})
    ).status_code == 200
    await client.patch(f"/api/services/{service['id']}", json={"duration_minutes": 60})
    assert local_times(await slots_of(client, service["id"], soon)) == ["09:00"]


async def test_time_off_racing_bookings_never_leaves_an_unlisted_booking_inside_it(
    client: httpx.AsyncClient, become_provider: BecomeProvider, live_app: LiveApp
) -> None:
    await become_provider()
    service = await create_service(client)
    day = local_day(5)
    targets = [slot for slot in await slots_of(client, service["id"], day)][:12]
    guests = [live_app.client() for _ in targets]
    try:

        async def book_one(guest: httpx.AsyncClient, slot: dict[str, Any]) -> httpx.Response:
            return await book(guest, slot["id"], customer_email=f"g{slot['token']}@example.com")

        async def close_the_day() -> httpx.Response:
            return await client.post(
                "/api/providers/me/time-off",
                json={"starts_at": f"{day}T00:00", "ends_at": f"{day + timedelta(days=1)}T00:00"},
            )

        *bookings, time_off = await asyncio.gather(
            *(book_one(guest, slot) for guest, slot in zip(guests, targets, strict=True)),
            close_the_day(),
        )
    finally:
        for guest in guests:
            await guest.aclose()
    assert time_off.status_code == 201, time_off.text
    listed = {conflict["id"] for conflict in time_off.json()["conflicts"]}
    won = {
        response.json()["appointment"]["id"] for response in bookings if response.status_code == 201
    }
    lost = [response for response in bookings if response.status_code != 201]
    assert all(response.status_code == 409 for response in lost), [r.text for r in lost]
    assert won == listed
    # What the day shows now: exactly the winners, booked.
    remaining = await slots_of(client, service["id"], day)
    assert {slot["id"] for slot in remaining} == won
    assert all(not slot["available"] for slot in remaining)
