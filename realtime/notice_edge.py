"""Minimum notice as a moving edge: watchers see a free slot turn unavailable as it crosses it.

Nothing is written when a slot comes within its service's notice; the slot list, the snapshot
and the booking claim each judge it against the clock. Watchers that already hold a slot are
told by a timer: for every service somebody in this process watches, one task sleeps until the
next free slot's start minus the notice, reads the slots that crossed since it last looked, and
hands them to the service's subscribers as `available: false`. So the cost is one short read
per crossing per process, however many sockets watch, and nothing at all for unwatched services.

The slot feed tells the timer about slots that (re)appear, so a slot freed ahead of the one it
sleeps for is not missed, and about snapshots (a changed notice), after which it looks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from realtime.broker import Delivery
from realtime.channels import Topic, slots_topic
from server.models import slots

log = logging.getLogger(__name__)

Deliver = Callable[[Topic, Delivery], None]
# After a failed read the timer waits this long before looking again.
RETRY_SECONDS = 5.0
# Wake a little after the crossing, so the clock has surely passed it.
LATE_MARGIN = timedelta(milliseconds=5)


def _clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Edge:
    """The timer of one watched service."""

    service_id: UUID
    zone: ZoneInfo
    deliver: Deliver
    watchers: int = 0
    notice: timedelta | None = None
    next_crossing: datetime | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class NoticeEdges:
    """One timer per watched service in this process, shared by its sockets."""

    def __init__(
        self,
        pool: Any,
        *,
        acquire_timeout: float = 5.0,
        clock: Callable[[], datetime] = _clock,
    ) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout
        self._clock = clock
        self._edges: dict[UUID, _Edge] = {}

    @contextlib.contextmanager
    def watch(self, service_id: UUID, zone: ZoneInfo, deliver: Deliver) -> Iterator[None]:
        """While a socket watches the service, its slots are told when they cross the edge."""
        edge = self._edges.get(service_id)
        if edge is None:
            edge = _Edge(service_id, zone, deliver)
            edge.task = asyncio.create_task(self._run(edge), name=f"notice-edge-{service_id}")
            self._edges[service_id] = edge
        edge.watchers += 1
        try:
            yield
        finally:
            edge.watchers -= 1
            if edge.watchers == 0 and self._edges.get(service_id) is edge:
                del self._edges[service_id]
                if edge.task is not None:
                    edge.task.cancel()

    def slots_appeared(self, service_id: str | UUID, starts: Iterable[datetime]) -> None:
        """Free slots now start at these times: look again if one crosses before the timer."""
        edge = self._edges.get(UUID(str(service_id)))
        if edge is None or edge.notice is None:
            return
        crossings = [start - edge.notice for start in starts]
        if crossings and (edge.next_crossing is None or min(crossings) < edge.next_crossing):
            edge.wake.set()

    def rules_changed(self, service_id: str | UUID) -> None:
        """The service's notice (or many slots) may have changed: look again."""
        edge = self._edges.get(UUID(str(service_id)))
        if edge is not None:
            edge.notice = None
            edge.wake.set()

    def watched(self) -> int:
        return len(self._edges)

    async def _run(self, edge: _Edge) -> None:
        since = self._clock()
        while True:
            try:
                await self._sleep_until_next_crossing(edge)
                now = self._clock()
                await self._announce_crossed(edge, since, now)
                since = now
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end the timer for good
                log.warning(
                    "notice edge of %s: could not read slots", edge.service_id, exc_info=True
                )
                edge.notice = None
                await asyncio.sleep(RETRY_SECONDS)

    async def _sleep_until_next_crossing(self, edge: _Edge) -> None:
        edge.wake.clear()
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            found = await slots.select_next_notice_crossing(conn, edge.service_id, self._clock())
        if found is None:  # the service is gone: nothing will cross any more
            edge.notice, edge.next_crossing = timedelta(0), None
            await edge.wake.wait()
            return
        edge.notice = timedelta(minutes=found.min_notice_minutes)
        edge.next_crossing = found.at
        timeout = None
        if found.at is not None:
            timeout = max((found.at - self._clock() + LATE_MARGIN).total_seconds(), 0.0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await edge.wake.wait()

    async def _announce_crossed(self, edge: _Edge, since: datetime, now: datetime) -> None:
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            crossed = await slots.select_slots_crossing_notice(conn, edge.service_id, since, now)
        if not crossed:
            return
        from realtime.slot_feed import slot_frames  # the feed imports this module

        changes = [(slot.slot_date, slot.to_json(edge.zone), False) for slot in crossed]
        edge.deliver(slots_topic(edge.service_id), slot_frames(changes))
