"""Busy calendars (issue 14 item 2): the provider's outside iCal feeds, fetched by the worker,
make overlapping free slots unavailable live and give them back when the event goes.

A local HTTP server serves .ics files the tests change; the worker's job runs in the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web

from jobs.busy_calendars import sync_due_calendars
from jobs.context import JobContext
from tests.conftest import LiveApp, StartApp, make_provider
from tests.support.booking import book, create_service, slots_of, tomorrow
from tests.support.serving import free_port
from tests.support.sockets import watch_slots
from tests.support.waitlist import a_day_ahead, cancel, entry_of, fill_day, join, small_service

LONDON = ZoneInfo("Europe/London")
BUSY = "/api/providers/me/busy-calendars"


@dataclass
class Feed:
    body: str
    etag: str = '"1"'
    status: int = 200


@dataclass
class IcsServer:
    url: str
    feeds: dict[str, Feed] = field(default_factory=dict)
    # (path, If-None-Match) of each request, in order.
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def serve(self, name: str, *events: str) -> str:
        """Serve (or change) the calendar at /NAME.ics with these VEVENT bodies; its URL."""
        previous = self.feeds.get(name)
        etag = f'"{int(previous.etag.strip(chr(34))) + 1}"' if previous else '"1"'
        self.feeds[name] = Feed(_calendar(*events), etag)
        return f"{self.url}/{name}.ics"

    def fail(self, name: str, status: int = 500) -> None:
        self.feeds[name].status = status


def _calendar(*events: str) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Busy//EN"]
    for number, event in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:event-{number}@test", "DTSTAMP:20260101T000000Z"]
        lines += event.strip().splitlines()
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
async def ics_server() -> AsyncIterator[IcsServer]:
    port = free_port()
    server = IcsServer(url=f"http://127.0.0.1:{port}")

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        server.requests.append((name, request.headers.get("If-None-Match")))
        feed = server.feeds.get(name)
        if feed is None:
            return web.Response(status=404)
        if feed.status != 200:
            return web.Response(status=feed.status, text="broken")
        if request.headers.get("If-None-Match") == feed.etag:
            return web.Response(status=304, headers={"ETag": feed.etag})
        return web.Response(
            body=feed.body.encode(),
            content_type="text/calendar",
            headers={"ETag": feed.etag},
        )

    app = web.Application()
    app.router.add_get("/{name}.ics", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield server
    await runner.cleanup()


def _utc(day: date, clock: str, zone: ZoneInfo = LONDON) -> str:
    """An iCalendar UTC stamp for a wall-clock time in `zone`."""
    moment = datetime.combine(day, time.fromisoformat(clock), tzinfo=zone).astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _by_clock(slots: list[dict[str, Any]]) -> dict[str, bool]:
    """{"10:00": available, ...} of one day's slots."""
    return {slot["start_time"][11:16]: slot["available"] for slot in slots}


async def _sync(job_ctx: JobContext, minutes_later: int = 0) -> int:
    """Run the worker's job as it would run `minutes_later` (past BUSY_SYNC_MINUTES: all due)."""
    return await sync_due_calendars(job_ctx, datetime.now(UTC) + timedelta(minutes=minutes_later))


async def test_busy_events_make_free_slots_unavailable_live_and_give_them_back_when_they_go(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    ics_server: IcsServer,
    job_ctx: JobContext,
    live_app: LiveApp,
) -> None:
    day, next_day = tomorrow(), tomorrow() + timedelta(days=1)
    meeting = f"DTSTART:{_utc(day, '10:00')}\nDTEND:{_utc(day, '11:00')}\nSUMMARY:Meeting"
    floating = f"DTSTART:{day:%Y%m%d}T120000\nDTEND:{day:%Y%m%d}T123000\nSUMMARY:Lunch"
    free_time = (
        f"DTSTART:{_utc(day, '14:00')}\nDTEND:{_utc(day, '15:00')}\nTRANSP:TRANSPARENT\nSUMMARY:x"
    )
    all_day = f"DTSTART;VALUE=DATE:{next_day:%Y%m%d}\nDTEND;VALUE=DATE:{next_day:%Y%m%d}"
    all_day = all_day[: all_day.rindex(":") + 1] + f"{next_day + timedelta(days=1):%Y%m%d}"
    url = ics_server.serve("work", meeting, floating, free_time, all_day)

    put = await client.put(BUSY, json={"urls": [url]})
    assert put.status_code == 200, put.text
    assert put.json() == {
        "busy_calendars": [{"url": url, "last_synced_at": None, "last_error": None}]
    }

    async with watch_slots(live_app.url, service["id"], day, next_day) as watcher:
        assert watcher.view[f"{day}T10:00:00+00:00"]["available"]
        assert await _sync(job_ctx) == 1
        await watcher.wait_for_view(lambda view: not view[f"{day}T10:00:00+00:00"]["available"])
        seen = {
            start[11:16]: slot["available"]
            for start, slot in watcher.view.items()
            if start.startswith(day.isoformat())
        }
        assert (seen["09:30"], seen["10:00"], seen["10:30"], seen["11:00"]) == (
            True,
            False,
            False,
            True,
        )
        assert (seen["12:00"], seen["12:30"]) == (False, True)  # floating: London's 12:00
        assert (seen["14:00"], seen["14:30"]) == (True, True)  # transparent: not busy
        assert not any(
            slot["available"]
            for start, slot in watcher.view.items()
            if start.startswith(next_day.isoformat())
        )  # all day, in the provider's zone

        listed = _by_clock(await slots_of(guest, service["id"], day))
        assert (listed["10:00"], listed["10:30"], listed["12:00"], listed["14:00"]) == (
            False,
            False,
            False,
            True,
        )
        ten = next(
            s
            for s in await slots_of(guest, service["id"], day)
            if s["start_time"][11:16] == "10:00"
        )
        refused = await book(guest, ten["id"])
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "slot_unavailable"

        # The meeting is deleted from the outside calendar: its slots come back.
        ics_server.serve("work", floating, free_time, all_day)
        await _sync(job_ctx, minutes_later=11)
        await watcher.wait_for_view(lambda view: view[f"{day}T10:00:00+00:00"]["available"])
    assert (await book(guest, ten["id"])).status_code == 201
    [calendar] = (await client.get(BUSY)).json()["busy_calendars"]
    assert calendar["last_synced_at"] is not None and calendar["last_error"] is None


async def test_a_weekly_event_keeps_its_wall_clock_time_across_a_dst_change(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    become_provider: Any,
    ics_server: IcsServer,
    job_ctx: JobContext,
) -> None:
    await become_provider()
    change = _next_dst_change(LONDON, tomorrow())
    service = await create_service(client, horizon_days=(change - tomorrow()).days + 10)
    first = tomorrow() + timedelta(days=1)
    weekly = (
        f"DTSTART;TZID=Europe/London:{first:%Y%m%d}T100000\n"
        f"DTEND;TZID=Europe/London:{first:%Y%m%d}T110000\nRRULE:FREQ=WEEKLY\nSUMMARY:Standup"
    )
    url = ics_server.serve("weekly", weekly)
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)

    before = first + timedelta(weeks=(change - first).days // 7)
    if before >= change:
        before -= timedelta(weeks=1)
    after = before + timedelta(weeks=1)
    assert before < change <= after
    for day in (first, before, after):
        seen = _by_clock(await slots_of(guest, service["id"], day))
        assert (seen["09:30"], seen["10:00"], seen["10:30"], seen["11:00"]) == (
            True,
            False,
            False,
            True,
        ), day
    assert _by_clock(await slots_of(guest, service["id"], first + timedelta(days=1)))["10:00"]


def _next_dst_change(zone: ZoneInfo, start: date) -> date:
    """The first day after `start` whose noon has another UTC offset than `start`'s."""
    offset = datetime.combine(start, time(12), tzinfo=zone).utcoffset()
    day = start
    while datetime.combine(day, time(12), tzinfo=zone).utcoffset() == offset:
        day += timedelta(days=1)
    return day


async def test_an_unchanged_feed_is_fetched_conditionally_and_a_failing_one_keeps_its_busy_times(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    ics_server: IcsServer,
    job_ctx: JobContext,
) -> None:
    day = tomorrow()
    url = ics_server.serve("flaky", f"DTSTART:{_utc(day, '09:00')}\nDTEND:{_utc(day, '10:00')}")
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)
    await _sync(job_ctx, minutes_later=11)
    assert ics_server.requests == [("flaky", None), ("flaky", '"1"')]  # the second got a 304
    assert not _by_clock(await slots_of(guest, service["id"], day))["09:00"]

    ics_server.fail("flaky")
    await _sync(job_ctx, minutes_later=22)
    [calendar] = (await client.get(BUSY)).json()["busy_calendars"]
    assert calendar["last_error"] == "The calendar answered HTTP 500."
    assert calendar["last_synced_at"] is not None
    seen = _by_clock(await slots_of(guest, service["id"], day))
    assert (seen["09:00"], seen["09:30"], seen["10:00"]) == (False, False, True)

    ics_server.serve("flaky", "DTSTART:20200101T090000Z\nDTEND:20200101T100000Z")
    await _sync(job_ctx, minutes_later=33)
    [calendar] = (await client.get(BUSY)).json()["busy_calendars"]
    assert calendar["last_error"] is None
    assert _by_clock(await slots_of(guest, service["id"], day))["09:00"]


async def test_a_removed_calendar_takes_its_busy_times_with_it(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    ics_server: IcsServer,
    job_ctx: JobContext,
) -> None:
    day = tomorrow()
    url = ics_server.serve("gone", f"DTSTART:{_utc(day, '09:00')}\nDTEND:{_utc(day, '10:00')}")
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)
    assert not _by_clock(await slots_of(guest, service["id"], day))["09:00"]
    emptied = await client.put(BUSY, json={"urls": []})
    assert emptied.json() == {"busy_calendars": []}
    assert _by_clock(await slots_of(guest, service["id"], day))["09:00"]


@pytest.mark.parametrize(
    "urls",
    [
        ["ftp://example.com/cal.ics"],
        ["https://user:pw@example.com/cal.ics"],
        ["not a url"],
        [f"https://example.com/{n}.ics" for n in range(6)],
    ],
)
async def test_bad_calendar_addresses_are_refused_with_422(
    client: httpx.AsyncClient, service: dict[str, Any], urls: list[str]
) -> None:
    refused = await client.put(BUSY, json={"urls": urls})
    assert refused.status_code == 422, refused.text
    assert "error" in refused.json()


async def test_in_production_private_loopback_and_link_local_addresses_are_refused(
    start_app: StartApp, ics_server: IcsServer, job_ctx: JobContext
) -> None:
    production = await start_app(app_env="production")
    async with production.client() as http:
        await make_provider(http, email="prod@example.com")
        for url in (
            "http://127.0.0.1/cal.ics",
            "http://localhost:8080/cal.ics",
            "http://10.1.2.3/cal.ics",
            "http://192.168.0.10/cal.ics",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/cal.ics",
            "http://[::ffff:127.0.0.1]/cal.ics",
        ):
            refused = await http.put(BUSY, json={"urls": [url]})
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json()["error"]["code"] == "address_not_allowed", url
        assert (await http.get(BUSY)).json() == {"busy_calendars": []}

    # A calendar stored before (or whose name later points inside) is refused at fetch time.
    async with production.client() as http:
        await http.post(
            "/api/auth/login", json={"email": "prod@example.com", "password": "correct horse"}
        )
        ok = await http.put(BUSY, json={"urls": []})
        assert ok.status_code == 200
    url = ics_server.serve("inside", "DTSTART:20200101T090000Z\nDTEND:20200101T100000Z")
    provider_id = await job_ctx["pool"].fetchval("SELECT id FROM providers")
    await job_ctx["pool"].execute(
        "INSERT INTO busy_calendars (provider_id, url, position) VALUES ($1, $2, 0)",
        provider_id,
        url,
    )
    await sync_due_calendars({**job_ctx, "config": production.config})
    assert ics_server.requests == []
    error = await job_ctx["pool"].fetchval("SELECT last_error FROM busy_calendars")
    assert "private network" in error


async def test_a_booking_under_a_busy_event_is_kept_and_flagged_on_the_dashboard(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    ics_server: IcsServer,
    job_ctx: JobContext,
) -> None:
    day = tomorrow()
    slots = {slot["start_time"][11:16]: slot for slot in await slots_of(guest, service["id"], day)}
    clashing = (await book(guest, slots["11:00"]["id"])).json()["appointment"]
    clear = (await book(guest, slots["15:00"]["id"])).json()["appointment"]
    url = ics_server.serve("clash", f"DTSTART:{_utc(day, '11:00')}\nDTEND:{_utc(day, '12:00')}")
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)

    schedule = await client.get("/api/dashboard/schedule", params={"date": day.isoformat()})
    flags = {item["id"]: item["busy_overlap"] for item in schedule.json()["appointments"]}
    assert flags == {clashing["id"]: True, clear["id"]: False}
    kept = await client.get("/api/dashboard/appointments", params={"status": "PENDING"})
    assert clashing["id"] in [item["id"] for item in kept.json()["appointments"]]
    assert not _by_clock(await slots_of(guest, service["id"], day))["11:30"]


async def test_a_time_freed_under_a_busy_event_comes_back_unavailable_and_cannot_be_moved_into(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    ics_server: IcsServer,
    job_ctx: JobContext,
    live_app: LiveApp,
) -> None:
    day = tomorrow()
    slots = {slot["start_time"][11:16]: slot for slot in await slots_of(guest, service["id"], day)}
    booking = (await book(guest, slots["11:00"]["id"])).json()["appointment"]
    other = (await book(guest, slots["16:00"]["id"])).json()["appointment"]
    url = ics_server.serve("freed", f"DTSTART:{_utc(day, '11:00')}\nDTEND:{_utc(day, '12:00')}")
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)

    moved = await client.post(
        f"/api/appointments/{other['id']}/reschedule", json={"slot_id": slots["11:30"]["id"]}
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (409, "slot_unavailable")
    async with watch_slots(live_app.url, service["id"], day) as watcher:
        cancel = await client.post(f"/api/appointments/{booking['id']}/cancel")
        assert cancel.status_code == 200, cancel.text
        frame = await watcher.receive_until(
            lambda frame: frame["type"] == "slot" and not frame.get("removed")
        )
        assert frame["slot"]["start_time"][11:16] == "11:00"
        assert frame["slot"]["available"] is False  # freed, but the provider is busy then


async def test_a_time_freed_under_a_busy_event_is_not_offered_to_the_waitlist(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    become_provider: Any,
    ics_server: IcsServer,
    job_ctx: JobContext,
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    bookings = await fill_day(client, service["id"], day)
    waiting = await join(guest, service["id"], day, "waiting@example.com")
    first = datetime.fromisoformat(bookings[0].appointment["start_time"])
    busy_until = datetime.fromisoformat(bookings[0].appointment["end_time"])
    url = ics_server.serve(
        "line",
        f"DTSTART:{first.astimezone(UTC):%Y%m%dT%H%M%SZ}\nDTEND:{busy_until.astimezone(UTC):%Y%m%dT%H%M%SZ}",
    )
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)

    await cancel(guest, bookings[0])
    assert (await entry_of(guest, waiting))["status"] == "waiting"
    freed = [
        s
        for s in await slots_of(guest, service["id"], day)
        if s["start_time"] == bookings[0].appointment["start_time"]
    ]
    assert [slot["available"] for slot in freed] == [False]


@pytest.mark.parametrize("goes", ["the event is deleted", "the calendar is removed"])
async def test_when_a_busy_event_goes_its_times_are_offered_to_the_waitlist_first(
    client: httpx.AsyncClient,
    guest: httpx.AsyncClient,
    become_provider: Any,
    ics_server: IcsServer,
    job_ctx: JobContext,
    goes: str,
) -> None:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    times = await slots_of(guest, service["id"], day)
    starts, ends = (
        datetime.fromisoformat(times[0]["start_time"]).astimezone(UTC),
        datetime.fromisoformat(times[-1]["end_time"]).astimezone(UTC),
    )
    url = ics_server.serve("away", f"DTSTART:{starts:%Y%m%dT%H%M%SZ}\nDTEND:{ends:%Y%m%dT%H%M%SZ}")
    assert (await client.put(BUSY, json={"urls": [url]})).status_code == 200
    await _sync(job_ctx)
    assert [slot["available"] for slot in await slots_of(guest, service["id"], day)] == [
        False,
        False,
    ]
    # Nothing on that day can be booked, so its line is open (it said "slots_available").
    line = [await join(guest, service["id"], day, f"{n}@example.com") for n in range(3)]

    if goes == "the event is deleted":
        ics_server.serve("away")
        await _sync(job_ctx, minutes_later=11)
    else:
        assert (await client.put(BUSY, json={"urls": []})).status_code == 200

    entries = [await entry_of(guest, entry) for entry in line]
    assert [entry["status"] for entry in entries] == ["offered", "offered", "waiting"]
    assert entries[0]["offer"]["slot"]["id"] == times[0]["id"]
    assert [slot["available"] for slot in await slots_of(guest, service["id"], day)] == [
        False,
        False,
    ]
