"""The provider's calendar feed (issue 14 item 1): a secret, rotatable URL serving the pending
and confirmed appointments as iCalendar, with the e-mailed .ics's UID and SEQUENCE, and cheap
conditional polling (ETag / Last-Modified, 304)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from icalendar import Calendar

from tests.support.booking import book, free_slots, tomorrow

FEED = "/api/providers/me/calendar-feed"


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def _feed_events(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(_path(url))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


async def test_the_feed_url_is_made_once_and_lists_pending_and_confirmed_bookings_only(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    first = (await client.get(FEED)).json()["url"]
    assert first == (await client.get(FEED)).json()["url"]
    assert first.startswith(client.base_url.join("/calendar/").__str__())
    assert first.endswith(".ics")
    slots = await free_slots(guest, service["id"], tomorrow())
    kept = (await book(guest, slots[0]["id"])).json()
    dropped = (await book(guest, slots[1]["id"])).json()
    reject = await client.post(f"/api/appointments/{dropped['appointment']['id']}/reject")
    assert reject.status_code == 200, reject.text

    response = await guest.get(_path(first))  # no sign-in needed: the token is the key
    assert response.headers["referrer-policy"] == "no-referrer"
    calendar = Calendar.from_ical(response.content)
    assert "REFRESH-INTERVAL" in calendar and "X-PUBLISHED-TTL" in calendar
    events = list(calendar.walk("VEVENT"))
    assert [str(event["UID"]) for event in events] == [f"{kept['appointment']['id']}@appointly"]
    start = events[0]["DTSTART"].dt
    assert start.utcoffset() == timedelta(0)  # UTC, placed right in any zone
    assert start == datetime.fromisoformat(kept["appointment"]["start_time"]).astimezone(UTC)


async def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    url = (await client.get(FEED)).json()["url"]
    slots = await free_slots(guest, service["id"], tomorrow())
    booking = (await book(guest, slots[0]["id"])).json()["appointment"]
    before = await _feed_events(guest, url)
    [uid] = before
    moved = await client.post(
        f"/api/appointments/{booking['id']}/reschedule", json={"slot_id": slots[3]["id"]}
    )
    assert moved.status_code == 200, moved.text

    after = await _feed_events(guest, url)
    assert list(after) == [uid]
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert after[uid]["DTSTART"].dt == datetime.fromisoformat(slots[3]["start_time"])


async def test_rotating_gives_a_new_url_and_the_old_one_answers_404(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    old = (await client.get(FEED)).json()["url"]
    rotated = await client.post(f"{FEED}/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["url"]
    assert new != old
    assert (await client.get(FEED)).json()["url"] == new
    gone = await guest.get(_path(old))
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "calendar_not_found"
    assert (await guest.get(_path(new))).status_code == 200
    assert (await guest.get("/calendar/nonsense.ics")).status_code == 404


async def test_an_unchanged_feed_answers_304_to_its_etag_or_date_and_200_after_a_change(
    client: httpx.AsyncClient, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    path = _path((await client.get(FEED)).json()["url"])
    first = await guest.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await guest.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert (await guest.get(path, headers={"If-Modified-Since": modified})).status_code == 304

    slots = await free_slots(guest, service["id"], tomorrow())
    assert (await book(guest, slots[0]["id"])).status_code == 201
    changed = await guest.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_the_feed_routes_need_a_provider(guest: httpx.AsyncClient) -> None:
    assert (await guest.get(FEED)).status_code == 401
