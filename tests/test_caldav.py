"""CalDAV two-way sync against a real CalDAV server (Radicale, started by the tests): the
provider connects a calendar, every booking is written there through the CalDAV outbox (an
outage delays it, never loses it), and the calendar's own events block free slots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from server.calendars.caldav_client import CalDAVLogin
from server.models import caldav as rows
from server.usecases.caldav import push_due, save_account, sync_calendars
from tests.conftest import LiveApp, StartApp, make_provider
from tests.support.booking import book, free_slots, tomorrow
from tests.support.radicale import PASSWORD, USER, Radicale

LATER = timedelta(hours=2)  # past any back-off of a failed first try


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    """A running Radicale with an empty 'appointly' calendar of user alice."""
    server = Radicale(tmp_path)
    server.start()
    server.make_calendar()
    yield server
    server.stop()


async def _connect(client: httpx.AsyncClient, radicale: Radicale) -> httpx.Response:
    return await client.put(
        "/api/providers/me/caldav",
        json={"url": radicale.calendar_url, "username": USER, "password": PASSWORD},
    )


def _stored_event(radicale: Radicale, uid: str) -> Any | None:
    """The VEVENT with `uid` in Radicale's calendar, or None."""
    for item in radicale.calendar().events():
        for component in Calendar.from_ical(item.data).walk("VEVENT"):
            if str(component["uid"]) == uid:
                return component
    return None


async def _ical_uid(db: Any, appointment_id: str) -> str:
    uid: str = await db.fetchval(
        "SELECT ical_uid FROM appointments WHERE id = $1::uuid", appointment_id
    )
    return uid


async def test_connecting_checks_the_calendar_and_never_answers_the_password(
    client: httpx.AsyncClient, service: dict[str, Any], radicale: Radicale, db: Any
) -> None:
    answers: list[httpx.Response] = []
    wrong = await client.put(
        "/api/providers/me/caldav",
        json={"url": radicale.calendar_url, "username": USER, "password": "not-it"},
    )
    answers.append(wrong)
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["error"]["code"] == "caldav_refused"
    assert "password" in wrong.json()["error"]["message"]
    missing = await client.get("/api/providers/me/caldav")
    assert missing.status_code == 404

    connected = await _connect(client, radicale)
    answers.append(connected)
    assert connected.status_code == 200, connected.text
    assert connected.json() == {
        "caldav": {
            "url": radicale.calendar_url,
            "username": USER,
            "last_synced_at": None,
            "last_error": None,
        }
    }
    answers.append(await client.get("/api/providers/me/caldav"))
    answers.append(await client.post("/api/providers/me/caldav/test"))
    assert answers[-1].json()["caldav"]["last_error"] is None
    stored = await db.fetchval("SELECT password_encrypted FROM caldav_accounts")
    assert PASSWORD not in stored

    radicale.stop()
    down = await client.post("/api/providers/me/caldav/test")
    answers.append(down)
    assert "did not answer" in down.json()["caldav"]["last_error"]
    unreachable = await _connect(client, radicale)
    answers.append(unreachable)
    assert unreachable.status_code == 422
    assert unreachable.json()["error"]["code"] == "caldav_unreachable"
    assert "did not answer" in unreachable.json()["error"]["message"]

    assert all(PASSWORD not in answer.text for answer in answers)
    gone = await client.delete("/api/providers/me/caldav")
    assert gone.status_code == 204
    assert (await client.get("/api/providers/me/caldav")).status_code == 404
    assert (await client.delete("/api/providers/me/caldav")).status_code == 404


async def test_a_booking_is_written_updated_on_confirm_and_reschedule_and_removed_on_cancel(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    radicale: Radicale,
    live_app: LiveApp,
    db_pool: Any,
    db: Any,
) -> None:
    assert (await _connect(client, radicale)).status_code == 200
    day = tomorrow()
    first, second = (await free_slots(guest, service["id"], day))[:2]
    booked = await book(guest, first["id"])
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["appointment"]["id"]
    uid = await _ical_uid(db, appointment_id)

    assert await push_due(db_pool, live_app.config) == 1
    event = _stored_event(radicale, uid)
    assert event is not None
    assert event["dtstart"].dt == datetime.fromisoformat(first["start_time"])
    created_sequence = int(event["sequence"])

    confirmed = await client.post(f"/api/appointments/{appointment_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert await push_due(db_pool, live_app.config) == 1
    event = _stored_event(radicale, uid)
    assert event is not None and str(event["status"]) == "CONFIRMED"
    confirmed_sequence = int(event["sequence"])
    assert confirmed_sequence > created_sequence

    moved = await client.post(
        f"/api/appointments/{appointment_id}/reschedule", json={"slot_id": second["id"]}
    )
    assert moved.status_code == 200, moved.text
    assert await push_due(db_pool, live_app.config) == 1
    event = _stored_event(radicale, uid)
    assert event is not None
    assert event["dtstart"].dt == datetime.fromisoformat(second["start_time"])
    assert int(event["sequence"]) > confirmed_sequence
    assert len(list(radicale.calendar().events())) == 1

    cancelled = await client.post(f"/api/appointments/{appointment_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert await push_due(db_pool, live_app.config) == 1
    assert _stored_event(radicale, uid) is None


async def test_a_booking_made_while_the_calendar_is_down_arrives_when_it_is_back(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    radicale: Radicale,
    live_app: LiveApp,
    db_pool: Any,
    db: Any,
) -> None:
    assert (await _connect(client, radicale)).status_code == 200
    radicale.stop()
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booked = await book(guest, slot["id"])
    assert booked.status_code == 201, booked.text
    uid = await _ical_uid(db, booked.json()["appointment"]["id"])

    assert await push_due(db_pool, live_app.config) == 0
    status = (await client.get("/api/providers/me/caldav")).json()["caldav"]
    assert "did not answer" in status["last_error"]
    waiting = await db.fetchval("SELECT count(*) FROM caldav_pushes")
    assert waiting == 1

    radicale.start()
    assert await push_due(db_pool, live_app.config, now=datetime.now().astimezone() + LATER) == 1
    assert _stored_event(radicale, uid) is not None
    assert await db.fetchval("SELECT count(*) FROM caldav_pushes") == 0


async def test_an_event_in_the_calendar_blocks_the_free_slot_it_overlaps_and_ours_do_not(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    radicale: Radicale,
    live_app: LiveApp,
    db_pool: Any,
    db: Any,
) -> None:
    assert (await _connect(client, radicale)).status_code == 200
    day = tomorrow()
    slots = await free_slots(guest, service["id"], day)
    mine, busy, transparent = slots[0], slots[2], slots[4]
    booked = await book(guest, mine["id"])
    assert booked.status_code == 201, booked.text
    assert await push_due(db_pool, live_app.config) == 1
    calendar = radicale.calendar()
    for uid, slot, transp in (
        ("dentist-1", busy, "OPAQUE"),
        ("note-1", transparent, "TRANSPARENT"),
    ):
        starts = datetime.fromisoformat(slot["start_time"]).astimezone(ZoneInfo("UTC"))
        calendar.save_event(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:{starts:%Y%m%dT%H%M%SZ}\r\n"
            f"DTEND:{starts + timedelta(minutes=10):%Y%m%dT%H%M%SZ}\r\n"
            f"SUMMARY:Elsewhere\r\nTRANSP:{transp}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )

    assert (await sync_calendars(db_pool, live_app.config)).calendars == 1
    rows = await db.fetch("SELECT starts_at, ends_at FROM busy_times WHERE source = 'caldav'")
    assert [row["starts_at"] for row in rows] == [datetime.fromisoformat(busy["start_time"])]
    after = {slot["start_time"]: slot for slot in await free_slots(guest, service["id"], day)}
    assert busy["start_time"] not in after
    assert transparent["start_time"] in after
    status = (await client.get("/api/providers/me/caldav")).json()["caldav"]
    assert status["last_synced_at"] is not None and status["last_error"] is None

    # Nothing changed: the sync token says so, and the busy times stay.
    assert (await sync_calendars(db_pool, live_app.config)).calendars == 1
    assert await db.fetchval("SELECT count(*) FROM busy_times WHERE source = 'caldav'") == 1


async def test_the_landing_page_no_longer_says_two_way_calendar_sync_is_missing(
    guest: httpx.AsyncClient,
) -> None:
    page = (await guest.get("/")).text
    row = page[page.index("Two-way calendar sync") :]
    row = row[: row.index("</tr>")]
    assert "Not yet" not in row
    assert '<td class="ours" data-label="Appointly"><span class="yes">Yes</span>' in row


async def test_a_change_queued_while_the_worker_writes_the_event_is_written_after_it(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    radicale: Radicale,
    db: Any,
) -> None:
    assert (await _connect(client, radicale)).status_code == 200
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booked = await book(guest, slot["id"])
    assert booked.status_code == 201, booked.text
    now = datetime.now().astimezone()
    (claimed,) = await rows.claim_pushes(db, now, token=uuid4(), lease=LATER, limit=10)

    # The provider confirms while the worker is still writing the booked version.
    await client.post(f"/api/appointments/{claimed.appointment_id}/confirm")
    await rows.finish_push(db, claimed)

    (again,) = await rows.claim_pushes(
        db, now + timedelta(seconds=1), token=uuid4(), lease=LATER, limit=10
    )
    assert again.appointment_id == claimed.appointment_id
    assert again.version > claimed.version


async def test_in_production_a_calendar_on_a_private_address_is_refused_and_never_called(
    start_app: StartApp, radicale: Radicale, db_pool: Any
) -> None:
    production = await start_app(app_env="production")
    async with production.client() as http:
        provider = await make_provider(http, email="prod-caldav@example.com")
        refused = await _connect(http, radicale)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "address_not_allowed"
        assert (await http.get("/api/providers/me/caldav")).status_code == 404

    # A calendar stored before (or whose name later points inside) is refused at sync time.
    login = CalDAVLogin(radicale.calendar_url, USER, PASSWORD)
    async with db_pool.acquire() as conn:
        await save_account(conn, UUID(provider["id"]), login, production.config)
    synced = await sync_calendars(db_pool, production.config)
    assert synced.calendars == 0
    error = await db_pool.fetchval("SELECT last_error FROM caldav_accounts")
    assert "private network" in error
