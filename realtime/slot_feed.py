"""What watchers of a service's slots are sent: snapshots, and one frame per changed slot.

On each slots message the feed re-reads the current rows at the changed start times, once per
process however many sockets watch. So the last frame a socket receives for a time always shows
the state committed last, even when two processes' messages about one slot arrive out of order.
Slots that no longer exist are sent first with `"removed": true`, then the rows now live at
those times, so a client keyed by start time ends with the right slot.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from realtime.broker import Delivery, Frames, Resync
from realtime.channels import SlotsMessage, Topic
from realtime.notice_edge import NoticeEdges
from server.models import slots

# Remember this many removed rows (id and start), so a removal repeated by a late message is not
# resent.
REMEMBERED_REMOVALS = 10_000


def slot_frame(slot: dict[str, Any], *, removed: bool = False) -> str:
    body: dict[str, Any] = {"type": "slot", "slot": slot}
    if removed:
        body["removed"] = True
    return orjson.dumps(body).decode()


def slot_frames(
    changes: list[tuple[date, dict[str, Any], bool]], *, published_at: float | None = None
) -> Frames:
    """(day, slot, removed) changes as a `slot` frame each, and as the payloads a `slots` frame
    lists (the slot, with `"removed": true` inside when it went)."""
    items = tuple((day, slot_frame(slot, removed=removed)) for day, slot, removed in changes)
    parts = tuple(
        orjson.dumps({**slot, "removed": True} if removed else slot).decode()
        for _, slot, removed in changes
    )
    return Frames(items, parts, published_at)


@dataclass
class _Flight:
    """One snapshot read in progress, shared by the sockets that may use it."""

    started_at: float
    task: asyncio.Task[str]


class SlotFeed:
    """The slots topic's handler for the broker, and the snapshots sockets send."""

    def __init__(self, pool: Any, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout
        self._removed: OrderedDict[str, None] = OrderedDict()
        self._flights: dict[tuple[str, date, date], _Flight] = {}
        # Reads that start when the flight of their range lands (see snapshot).
        self._followers: dict[tuple[str, date, date], asyncio.Task[str]] = {}
        # Timers that tell watchers when a free slot crosses its service's minimum notice.
        self.edges = NoticeEdges(pool, acquire_timeout=acquire_timeout)

    async def handle(self, topic: Topic, data: bytes) -> Delivery | None:
        message = SlotsMessage.decode(data)
        if message.reset:
            self.edges.rules_changed(message.service_id)
            return Resync(time.monotonic())
        removed = [slot for slot in message.slots if slot.get("removed")]
        starts = [datetime.fromisoformat(slot["start_time"]) for slot in message.slots]
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            live = await slots.select_live_slots_at(
                conn, UUID(message.service_id), starts, now=datetime.now(UTC)
            )
        self.edges.slots_appeared(
            message.service_id, [row.starts_at for row in live if not row.booked]
        )
        # A removal names a row at a time: a booking that moved to another time is still live
        # there, but gone from this one.
        live_rows = {(str(slot.id), slot.starts_at) for slot in live}
        changes: list[tuple[date, dict[str, Any], bool]] = []
        for slot in removed:
            at = (slot["id"], datetime.fromisoformat(slot["start_time"]))
            if at in live_rows or not self._first_removal(f"{slot['id']}@{slot['start_time']}"):
                continue
            public = {key: value for key, value in slot.items() if key != "removed"}
            changes.append((date.fromisoformat(slot["slot_date"]), public, True))
        zone = ZoneInfo(message.timezone)
        for row in live:
            changes.append((row.slot_date, row.to_json(zone), False))
        return slot_frames(changes, published_at=message.published_at) if changes else None

    def _first_removal(self, row: str) -> bool:
        if row in self._removed:
            return False
        self._removed[row] = None
        if len(self._removed) > REMEMBERED_REMOVALS:
            self._removed.popitem(last=False)
        return True

    async def snapshot(
        self, service_id: UUID, zone: str, first: date, last: date, *, not_before: float
    ) -> str:
        """The snapshot frame for a range, read no earlier than `not_before` (monotonic time).

        Sockets asking for the same range at once share one read, but only a read that started
        after the asker subscribed: an older read might miss a change it was not told about.
        An asker that finds a read already under way, started too early for it, shares the one
        read that starts when that one lands: a crowd connecting at once costs two reads per
        range, not one per socket.
        """
        key = (str(service_id), first, last)
        flight = self._flights.get(key)
        if flight is not None and flight.started_at >= not_before:
            task = flight.task
        elif flight is None or flight.task.done():
            task = self._take_off(key, service_id, zone, first, last).task
        else:
            follower = self._followers.get(key)
            if follower is None:
                follower = asyncio.create_task(
                    self._follow(key, flight, service_id, zone, first, last)
                )
                self._followers[key] = follower
            task = follower
        # Shielded: one socket going away must not cancel the read the others wait for.
        return await asyncio.shield(task)

    def _take_off(
        self, key: tuple[str, date, date], service_id: UUID, zone: str, first: date, last: date
    ) -> _Flight:
        task = asyncio.create_task(self._read_snapshot(service_id, zone, first, last))
        flight = _Flight(started_at=time.monotonic(), task=task)
        self._flights[key] = flight
        task.add_done_callback(lambda _: self._land(key, flight))
        return flight

    async def _follow(
        self,
        key: tuple[str, date, date],
        ahead: _Flight,
        service_id: UUID,
        zone: str,
        first: date,
        last: date,
    ) -> str:
        await asyncio.wait((ahead.task,))
        # From here on, askers need a read that starts after this one: it is no follower.
        del self._followers[key]
        return await self._take_off(key, service_id, zone, first, last).task

    def _land(self, key: tuple[str, date, date], flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _read_snapshot(self, service_id: UUID, zone: str, first: date, last: date) -> str:
        # PostgreSQL writes the slots' JSON, as for GET …/slots: a month of slots is ~500 rows.
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            found = await slots.select_slots_json(
                conn, service_id, first, last, zone, now=datetime.now(UTC)
            )
        return f'{{"type":"snapshot","slots":{found}}}'
