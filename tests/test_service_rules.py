"""The four per-service rules through the API: buffer, minimum notice (a moving edge that the
slot list, the socket feed and the booking claim agree on), horizon and cancellation cut-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from jobs.slots import top_up_all_services
from server.infra.config import Config
from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import book, create_service, slots_of, tomorrow
from tests.support.sockets import watch_slots

LONDON = ZoneInfo("Europe/London")
RULES = ("buffer_minutes", "min_notice_minutes", "horizon_days", "cancel_cutoff_minutes")


async def test_rules_default_to_none_and_the_deployments_horizon(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    service = await create_service(client)
    assert {rule: service[rule] for rule in RULES} == {
        "buffer_minutes": 0,
        "min_notice_minutes": 0,
        "horizon_days": 30,
        "cancel_cutoff_minutes": 0,
    }


async def test_rules_are_set_on_create_changed_by_patch_and_read_back(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    rules = {
        "buffer_minutes": 10,
        "min_notice_minutes": 120,
        "horizon_days": 60,
        "cancel_cutoff_minutes": 1440,
    }
    service = await create_service(client, **rules)
    assert {rule: service[rule] for rule in RULES} == rules
    patched = await client.patch(
        f"/api/services/{service['id']}", json={"cancel_cutoff_minutes": 60, "horizon_days": None}
    )
    assert patched.status_code == 200, patched.text
    read = (await client.get(f"/api/services/{service['id']}")).json()["service"]
    assert read["cancel_cutoff_minutes"] == 60
    assert read["horizon_days"] == 30  # back to SLOT_HORIZON_DAYS


async def test_out_of_range_rules_are_422_naming_each_field(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    service = await create_service(client)
    bad = {
        "buffer_minutes": 241,
        "min_notice_minutes": -1,
        "horizon_days": 366,
        "cancel_cutoff_minutes": 43201,
    }
    response = await client.patch(f"/api/services/{service['id']}", json=bad)
    assert response.status_code == 422
    named = {field.split(".")[0] for field in response.json()["error"]["fields"]}
    assert named == set(bad)
    response = await client.patch(f"/api/services/{service['id']}", json={"horizon_days": 0})
    assert response.status_code == 422


async def test_the_rules_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    create = paths["/api/services"]["post"]["requestBody"]["content"]["application/json"]
    change = paths["/api/services/{service_id}"]["patch"]["requestBody"]["content"]
    shown = document["components"]["schemas"]["Service"]
    for schema in (create["schema"], change["application/json"]["schema"], shown):
        assert set(RULES) <= set(schema["properties"])
    assert create["schema"]["properties"]["buffer_minutes"]["maximum"] == 240


async def test_a_new_buffer_replaces_the_future_free_slots(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    hours = {day: [["09:00", "12:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    service = await create_service(client, hours=hours)
    day = tomorrow()
    response = await client.patch(f"/api/services/{service['id']}", json={"buffer_minutes": 15})
    assert response.status_code == 200
    starts = [slot["start_time"][11:16] for slot in await slots_of(client, service["id"], day)]
    assert starts == ["09:00", "09:45", "10:30", "11:15"]


async def test_each_service_keeps_its_own_horizon_through_the_top_up(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db_pool: Any, db: asyncpg.Connection
) -> None:
    await become_provider()
    long = await create_service(client, name="Long", horizon_days=90)
    short = await create_service(client, name="Short", horizon_days=7)
    today = datetime.now(LONDON).date()

    async def last_day(service_id: str) -> Any:
        return await db.fetchval(
            "SELECT max(slot_date) FROM appointments WHERE service_id = $1::uuid", service_id
        )

    assert await last_day(long["id"]) == today + timedelta(days=89)
    assert await last_day(short["id"]) == today + timedelta(days=6)
    week_on = datetime.now(UTC) + timedelta(days=7)
    config = Config(slot_horizon_days=30)
    assert await top_up_all_services(db_pool, None, config, now=week_on) > 0
    assert await last_day(long["id"]) == today + timedelta(days=96)
    assert await last_day(short["id"]) == today + timedelta(days=13)
    assert await top_up_all_services(db_pool, None, config, now=week_on) == 0


async def test_a_watched_slot_turns_unavailable_as_it_crosses_the_notice_edge_then_is_409(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    live_app: LiveApp,
    db: asyncpg.Connection,
) -> None:
    await become_provider()
    service = await create_service(client, min_notice_minutes=60)
    # A free slot that starts a few seconds past the edge (an hour from now): bookable now,
    # not any more once those seconds have passed.
    starts_at = datetime.now(UTC) + timedelta(minutes=60, seconds=3)
    day = starts_at.astimezone(LONDON).date()
    slot_id = await db.fetchval(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
        VALUES ($1::uuid, $2, $3::timestamptz, $3::timestamptz + interval '30 minutes', 99)
        RETURNING id
        """,
        service["id"],
        day,
        starts_at,
    )
    async with watch_slots(live_app.url, service["id"], day) as watcher:
        listed = {slot["id"]: slot for slot in watcher.frames[0]["slots"]}
        assert listed[str(slot_id)]["available"] is True

        frame = await watcher.receive_until(
            lambda frame: frame.get("slot", {}).get("id") == str(slot_id), timeout=15
        )
        assert frame["slot"]["available"] is False
        assert "removed" not in frame

    async with live_app.client() as guest:
        response = await book(guest, str(slot_id))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_late_to_book"
    shown = {slot["id"]: slot for slot in await slots_of(client, service["id"], day)}
    assert shown[str(slot_id)]["available"] is False
