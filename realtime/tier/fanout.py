"""Slot fan-out for the socket tier: one encoded frame per change, written to every socket
that watches the same days of the same service.

Per watched service the tier holds one SlotChannel, a receiver of the broker's deliveries for
the service's topic (so the Redis message is still read and turned into frames once per
process, by realtime.slot_feed). The channel's sockets are grouped by the days they watch:
a change is encoded once per group as a WebSocket frame and the same bytes are written to
each socket's transport. No queue or task per socket, no per-socket encoding.

Changes that arrive within TICK of the previous frame are held until the tick ends and go out
together as one `{"type": "slots", "slots": [...]}` frame (a lone change is still a `slot`
frame), so a flash crowd costs one frame per tick per socket, not one per booking.

The contract of the per-socket path holds: a socket joins its group (its frames buffered)
before its snapshot is read, so it gets snapshot then changes with no gap; a resync (Redis
lost and regained, or too much changed) sends each group one fresh snapshot read after the
resync was asked for, with the frames meanwhile held until it has gone; a socket whose unsent
bytes pass `slow_socket_bytes` is closed 1013 instead of holding memory or slowing the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from realtime.broker import Delivery, Resync
from realtime.channels import Topic, slots_topic
from realtime.flows import SlotWatch
from realtime.process import Realtime
from realtime.transport import CLOSE_TRY_AGAIN_LATER, SEND_TIMEOUT
from server.infra.db import DATABASE_OUTAGES
from server.infra.metrics import (
    FANOUT_LATENCY,
    WEBSOCKET_FRAMES_SENT,
    WEBSOCKET_RESYNCS,
    WEBSOCKET_SLOW_CLOSED,
)

log = logging.getLogger(__name__)

KIND = "slots"
# Changes within this long of a channel's last frame wait for the tick's end and go together.
TICK = 0.02
# Unsent bytes past this mean the client stopped reading (about 2,000 slot frames).
SLOW_SOCKET_BYTES = 512 * 1024


def encode_text_frame(text: str) -> bytes:
    """`text` as one unmasked WebSocket text frame: what a server writes, with no extension
    (the tier declines compression, so every socket gets the same bytes)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


def slots_frame(parts: Iterable[str]) -> str:
    """Several changed slots as one frame; each part is a slot's JSON (`removed` inside)."""
    return '{"type":"slots","slots":[' + ",".join(parts) + "]}"


class SlowSockets:
    """Closes sockets with 1013 without waiting for their closing handshakes."""

    def __init__(self) -> None:
        self._closing: set[asyncio.Task[None]] = set()

    def close(self, socket: ServerConnection) -> None:
        """`socket` fell behind."""
        WEBSOCKET_SLOW_CLOSED.labels(KIND).inc()
        self.try_later(socket, "Too far behind; reconnect.")

    def try_later(self, socket: ServerConnection, reason: str) -> None:
        task = asyncio.create_task(socket.close(CLOSE_TRY_AGAIN_LATER, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def write_to_all(
    sockets: Iterable[ServerConnection], frame: bytes, limit: int, slow: SlowSockets
) -> list[ServerConnection]:
    """Write one encoded frame to every open socket; the sockets now past `limit` unsent bytes
    (closed 1013 by `slow`, and to be dropped from their group by the caller)."""
    fallen: list[ServerConnection] = []
    for socket in sockets:
        if socket.protocol.state is not State.OPEN:
            continue
        transport = socket.transport
        transport.write(frame)
        if transport.get_write_buffer_size() > limit:
            fallen.append(socket)
    for socket in fallen:
        slow.close(socket)
    return fallen


@dataclass
class Joiner:
    """A socket between joining its group and being sent its snapshot: the frames it must send
    after the snapshot, and how recent that snapshot must be (monotonic time)."""

    not_before: float
    held: list[str] = field(default_factory=list)


class RangeGroup:
    """The sockets of one channel that watch the same days."""

    def __init__(self, channel: SlotChannel, first: date, last: date) -> None:
        self.channel = channel
        self.first = first
        self.last = last
        self.live: set[ServerConnection] = set()
        self.joining: dict[ServerConnection, Joiner] = {}
        # Frames held while a resync snapshot is read (None when no resync is under way).
        self.held: list[str] | None = None
        self._resync: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self.live) + len(self.joining)

    def watches(self, day: date | None) -> bool:
        return day is None or self.first <= day <= self.last

    def send(self, text: str) -> int:
        """Send a frame to the group (held where a snapshot must go first); sockets sent to."""
        for joiner in self.joining.values():
            joiner.held.append(text)
        if self.held is not None:
            self.held.append(text)
            return 0
        return self._write(text)

    def _write(self, text: str) -> int:
        fanout = self.channel.fanout
        fallen = write_to_all(self.live, encode_text_frame(text), fanout.slow_bytes, fanout.slow)
        self.live.difference_update(fallen)
        sent = len(self.live)
        WEBSOCKET_FRAMES_SENT.labels(KIND).inc(sent)
        return sent

    def resync(self, requested_at: float) -> None:
        """Send the group a snapshot read after `requested_at`, holding frames until then."""
        for joiner in self.joining.values():
            joiner.not_before = max(joiner.not_before, requested_at)
            joiner.held.clear()
        if not self.live:
            return
        WEBSOCKET_RESYNCS.labels(KIND).inc()
        self.held = []
        if self._resync is not None:
            self._resync.cancel()
        self._resync = asyncio.create_task(self._send_snapshot(requested_at))

    async def _send_snapshot(self, requested_at: float) -> None:
        try:
            snapshot = await self.channel.snapshot(self.first, self.last, requested_at)
        except DATABASE_OUTAGES as error:
            log.warning("closing %d slots sockets: no snapshot (%r)", len(self.live), error)
            for socket in self.live:
                self.channel.fanout.slow.try_later(socket, "Try again in a moment.")
            self.live.clear()
            self.held = None
            return
        held, self.held = self.held or [], None
        self._write(snapshot)
        for text in held:
            self._write(text)

    def stop(self) -> None:
        if self._resync is not None:
            self._resync.cancel()


class SlotChannel:
    """The tier's receiver for one watched service's slots topic."""

    def __init__(self, fanout: SlotFanout, watch: SlotWatch) -> None:
        self.fanout = fanout
        self.service = watch.service
        self._topic = slots_topic(watch.service.id)
        self.groups: dict[tuple[date, date], RangeGroup] = {}
        self._pending: list[tuple[date | None, str, str | None]] = []
        self._published_at: float | None = None
        self._last_frame = float("-inf")
        self._flush: asyncio.TimerHandle | None = None
        self._edges = contextlib.ExitStack()

    @property
    def topic(self) -> Topic:
        return self._topic

    def open(self) -> None:
        owned = self.fanout.owned
        owned.broker.attach(self)
        # Slots crossing their minimum notice reach the channel as they cross it.
        self._edges.enter_context(
            owned.feed.edges.watch(
                self.service.id, self.service.provider.zone, owned.broker.deliver
            )
        )

    def close(self) -> None:
        self.fanout.owned.broker.unsubscribe(self)
        self._edges.close()
        if self._flush is not None:
            self._flush.cancel()
        for group in self.groups.values():
            group.stop()

    def deliver(self, item: Delivery) -> None:
        if isinstance(item, Resync):
            # The snapshots cover whatever was waiting for the tick.
            self._pending.clear()
            self._published_at = None
            for group in self.groups.values():
                group.resync(item.requested_at)
            return
        parts: Iterable[str | None] = item.parts or [None] * len(item.items)
        for (day, text), part in zip(item.items, parts, strict=True):
            self._pending.append((day, text, part))
        if item.published_at is not None and self._published_at is None:
            self._published_at = item.published_at
        if self._flush is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_frame + self.fanout.tick - loop.time()
        if wait <= 0:
            self.flush()
        else:
            self._flush = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Send what arrived since the last frame: one frame per group that watches any of it."""
        self._flush = None
        self._last_frame = asyncio.get_running_loop().time()
        pending, self._pending = self._pending, []
        published_at, self._published_at = self._published_at, None
        sent = 0
        for group in self.groups.values():
            chosen = [(text, part) for day, text, part in pending if group.watches(day)]
            if len(chosen) == 1 or (chosen and any(part is None for _, part in chosen)):
                for text, _ in chosen:
                    sent += group.send(text)
            elif chosen:
                sent += group.send(slots_frame(part for _, part in chosen if part is not None))
        if published_at is not None and sent:
            FANOUT_LATENCY.observe(max(time.time() - published_at, 0.0))

    async def snapshot(self, first: date, last: date, not_before: float) -> str:
        return await self.fanout.owned.feed.snapshot(
            self.service.id, self.service.provider.timezone, first, last, not_before=not_before
        )

    def group(self, first: date, last: date) -> RangeGroup:
        found = self.groups.get((first, last))
        if found is None:
            found = self.groups[(first, last)] = RangeGroup(self, first, last)
        return found

    def leave(self, group: RangeGroup, socket: ServerConnection) -> None:
        group.live.discard(socket)
        group.joining.pop(socket, None)
        if not group:
            group.stop()
            self.groups.pop((group.first, group.last), None)


class SlotFanout:
    """Every watched service's channel in this tier process."""

    def __init__(
        self, owned: Realtime, *, tick: float = TICK, slow_socket_bytes: int = SLOW_SOCKET_BYTES
    ) -> None:
        self.owned = owned
        self.tick = tick
        self.slow_bytes = slow_socket_bytes
        self.slow = SlowSockets()
        self.channels: dict[str, SlotChannel] = {}

    async def watch(self, socket: ServerConnection, watch: SlotWatch) -> None:
        """Serve one slots socket until it closes: snapshot, held changes, then the group's."""
        key = str(watch.service.id)
        channel = self.channels.get(key)
        if channel is None:
            channel = self.channels[key] = SlotChannel(self, watch)
            channel.open()
        group = channel.group(watch.first, watch.last)
        joiner = group.joining[socket] = Joiner(not_before=time.monotonic())
        try:
            await self._catch_up(socket, channel, group, joiner)
            del group.joining[socket]
            group.live.add(socket)
            await socket.wait_closed()
        finally:
            channel.leave(group, socket)
            if not channel.groups and self.channels.get(key) is channel:
                del self.channels[key]
                channel.close()

    async def _catch_up(
        self, socket: ServerConnection, channel: SlotChannel, group: RangeGroup, joiner: Joiner
    ) -> None:
        """Send the joiner its snapshot, then what arrived since, until nothing is left."""
        sent_for: float | None = None
        while True:
            asked = joiner.not_before
            if sent_for != asked:
                snapshot = await channel.snapshot(group.first, group.last, asked)
                if joiner.not_before != asked:
                    continue  # a resync came meanwhile: that snapshot may be stale
                await _send(socket, snapshot)
                sent_for = asked
                continue
            if not joiner.held:
                return
            await _send(socket, joiner.held.pop(0))

    def watchers(self) -> int:
        return sum(
            len(group) for channel in self.channels.values() for group in channel.groups.values()
        )


async def _send(socket: ServerConnection, text: str) -> None:
    async with asyncio.timeout(SEND_TIMEOUT):
        await socket.send(text)
    WEBSOCKET_FRAMES_SENT.labels(KIND).inc()
