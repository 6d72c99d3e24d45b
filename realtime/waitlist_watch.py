"""One customer's place on a waitlist, live, whatever server carries the socket.

The socket subscribes to its service's waitlist channel before reading the entry, so any change
committed after the read reaches it: it sends the entry on connect, then again whenever its day's
line changes in a way that changes the entry (an offer made, passed on or expired; someone ahead
leaving or booking moves it up). Each change is a notice naming the day; the entry is re-read
from real time's own pool, so what is sent is always what the database says.
"""

from __future__ import annotations

from uuid import UUID

import orjson

from realtime.broker import Frames, Resync, SubscriberOverflow, Subscription
from realtime.channels import waitlist_topic
from realtime.process import Realtime
from realtime.transport import CLOSE_NOT_FOUND, CLOSE_TRY_AGAIN_LATER, Transport
from server.infra.metrics import WEBSOCKET_RESYNCS, WEBSOCKET_SLOW_CLOSED
from server.models.waitlist import WaitlistEntry, select_entry
from server.usecases.waitlist import may_manage


async def watch_waitlist_entry(
    owned: Realtime, transport: Transport, raw_id: str, key: str | None, user_id: UUID | None
) -> None:
    """The entry on connect and on every change, for the holder of its key (or the signed-in
    customer who joined); anyone else: closed with 4404."""
    try:
        entry_id = UUID(raw_id)
    except ValueError:
        entry_id = None
    entry = None if entry_id is None else await _read(owned, entry_id)
    if entry is None or not may_manage(entry, key=key, user_id=user_id):
        await transport.close(CLOSE_NOT_FOUND, "There is no such waitlist entry.")
        return
    with owned.broker.subscribe(waitlist_topic(entry.service_id)) as subscription:
        await _relay(owned, transport, subscription, entry)


async def _relay(
    owned: Realtime, transport: Transport, subscription: Subscription, first: WaitlistEntry
) -> None:
    day = first.day.isoformat()
    sent: bytes | None = None
    entry: WaitlistEntry | None = first
    while True:
        # Read after subscribing: whatever changes later is a notice still to come.
        entry = await _read(owned, first.id)
        if entry is None:
            return
        frame = orjson.dumps({"type": "entry", "entry": entry.to_json()})
        if frame != sent:
            await transport.send(frame.decode())
            sent = frame
        if not await _wait_for_day(transport, subscription, day):
            return


async def _wait_for_day(transport: Transport, subscription: Subscription, day: str) -> bool:
    """Until a notice about `day` (or a resync) arrives; False when the socket must close."""
    while True:
        try:
            delivery = await subscription.next()
        except SubscriberOverflow:
            WEBSOCKET_SLOW_CLOSED.labels("waitlist").inc()
            await transport.close(CLOSE_TRY_AGAIN_LATER, "Too far behind; reconnect.")
            return False
        if isinstance(delivery, Resync):
            WEBSOCKET_RESYNCS.labels("waitlist").inc()
            return True
        if isinstance(delivery, Frames) and any(text == day for _, text in delivery.items):
            return True


async def _read(owned: Realtime, entry_id: UUID) -> WaitlistEntry | None:
    async with owned.pool.acquire(timeout=owned.acquire_timeout) as conn:
        return await select_entry(conn, entry_id)
