"""Helpers for waitlist tests: a full day, joining its line, and an entry's live socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.support.booking import GUEST, book, create_service, free_slots, manage_key, tomorrow
from tests.support.sockets import ws_url

Frame = dict[str, Any]
# Two half-hour slots a day, every day: a day is full after two bookings.
TWO_A_DAY = {day: [["09:00", "10:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def a_day_ahead(days: int = 2) -> date:
    """A day far enough ahead that no notice or cut-off gets in the way."""
    return tomorrow() + timedelta(days=days)


async def small_service(provider: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    return await create_service(provider, hours=TWO_A_DAY, max_appointments_per_day=2, **changes)


@dataclass
class Booking:
    appointment: dict[str, Any]
    key: str


async def fill_day(http: httpx.AsyncClient, service_id: str, day: date) -> list[Booking]:
    """Book every free slot of `day`, each for a different guest; the bookings by start."""
    made = []
    for number, slot in enumerate(await free_slots(http, service_id, day)):
        response = await book(http, slot["id"], customer_email=f"booker{number}@example.com")
        assert response.status_code == 201, response.text
        body = response.json()
        made.append(Booking(body["appointment"], manage_key(body)))
    return made


@dataclass
class Entry:
    id: str
    key: str
    email: str
    body: dict[str, Any]


def key_of(url: str) -> str:
    key: str = parse_qs(urlsplit(url).query)["key"][0]
    return key


async def join(
    http: httpx.AsyncClient, service_id: str, day: date, email: str, **fields: Any
) -> Entry:
    response = await http.post(
        f"/api/services/{service_id}/waitlist",
        json={**GUEST, "customer_email": email, "date": day.isoformat(), **fields},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Entry(body["entry"]["id"], key_of(body["manage_url"]), email, body)


async def entry_of(http: httpx.AsyncClient, entry: Entry) -> dict[str, Any]:
    response = await http.get(f"/api/waitlist/{entry.id}", params={"key": entry.key})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["entry"]
    return found


async def cancel(http: httpx.AsyncClient, booking: Booking) -> None:
    response = await http.post(
        f"/api/bookings/{booking.appointment['id']}/cancel", params={"key": booking.key}
    )
    assert response.status_code == 200, response.text


class EntryWatcher:
    """A /ws/waitlist/{id} socket and the entry frames it received."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[Frame] = []

    async def next_entry(self, timeout: float = 5) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            frame: Frame = orjson.loads(await self.connection.recv())
        self.frames.append(frame)
        assert frame["type"] == "entry", frame
        entry: dict[str, Any] = frame["entry"]
        return entry

    async def until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 5
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                entry = await self.next_entry(timeout)
                if done(entry):
                    return entry


@asynccontextmanager
async def watch_entry(base_url: str, entry: Entry) -> AsyncIterator[EntryWatcher]:
    """A socket on the entry that has already received the entry as it was on connect."""
    url = ws_url(base_url, f"/ws/waitlist/{entry.id}?key={entry.key}")
    async with connect(url, open_timeout=10) as connection:
        watcher = EntryWatcher(connection)
        first = await watcher.next_entry(10)
        assert first["id"] == entry.id
        yield watcher
