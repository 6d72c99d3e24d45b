"""/ws/waitlist/{id}?key=: one customer's place on a waitlist, live.

The socket subscribes to its service's waitlist channel before reading the entry, so any change
committed after the read reaches it: it sends the entry on connect, then again whenever its day's
line changes in a way that changes the entry (an offer made, passed on or expired; someone ahead
leaving or booking moves it up). Each change is a notice naming the day; the entry is re-read
from real time's own pool, so what is sent is always what the database says.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import orjson
from quart import Blueprint, websocket

from realtime.broker import Frames, Resync, SubscriberOverflow, Subscription
from realtime.channels import waitlist_topic
from realtime.sockets import (
    CLOSE_NOT_FOUND,
    CLOSE_TRY_AGAIN_LATER,
    SEND_TIMEOUT,
    realtime,
)
from server.auth.session_user import optional_user
from server.edge.client_limits import refuse_socket_floods
from server.infra.db import DATABASE_OUTAGES
from server.infra.socket_metrics import count_frame, count_resync, count_slow_close, counted_socket
from server.infra.state import config, release_db
from server.models.waitlist import WaitlistEntry, select_entry
from server.usecases.waitlist import may_manage

log = logging.getLogger(__name__)

blueprint = Blueprint("waitlist_realtime", __name__)
blueprint.before_websocket(refuse_socket_floods)


@blueprint.websocket("/ws/waitlist/<entry_id>")
@counted_socket("waitlist")
async def ws_waitlist(entry_id: str) -> None:
    """The entry on connect and on every change, for the holder of its key (or the signed-in
    customer who joined, from Appointly's own pages); anyone else: closed with 4404."""
    user_id = await _signed_in_user_id() if websocket.args.get("key") is None else None
    await websocket.accept()
    try:
        await _watch_entry(entry_id, websocket.args.get("key"), user_id)
    except DATABASE_OUTAGES as error:
        log.warning("closing a waitlist socket: %r", error)
        await websocket.close(CLOSE_TRY_AGAIN_LATER, "Try again in a moment.")


async def _signed_in_user_id() -> UUID | None:
    """The session's user, only for a handshake from our own origin (no cross-site reads)."""
    origin = websocket.headers.get("Origin")
    if origin is not None and origin != config().base_origin:
        return None
    user = await optional_user()
    await release_db()
    return None if user is None else user.id


async def _watch_entry(raw_id: str, key: str | None, user_id: UUID | None) -> None:
    try:
        entry_id = UUID(raw_id)
    except ValueError:
        entry_id = None
    entry = None if entry_id is None else await _read(entry_id)
    if entry is None or not may_manage(entry, key=key, user_id=user_id):
        await websocket.close(CLOSE_NOT_FOUND, "There is no such waitlist entry.")
        return
    with realtime().broker.subscribe(waitlist_topic(entry.service_id)) as subscription:
        await _relay(subscription, entry)


async def _relay(subscription: Subscription, first: WaitlistEntry) -> None:
    day = first.day.isoformat()
    sent: bytes | None = None
    entry: WaitlistEntry | None = first
    while True:
        # Read after subscribing: whatever changes later is a notice still to come.
        entry = await _read(first.id)
        if entry is None:
            return
        frame = orjson.dumps({"type": "entry", "entry": entry.to_json()})
        if frame != sent:
            async with asyncio.timeout(SEND_TIMEOUT):
                await websocket.send(frame.decode())
            count_frame()
            sent = frame
        if not await _wait_for_day(subscription, day):
            return


async def _wait_for_day(subscription: Subscription, day: str) -> bool:
    """Until a notice about `day` (or a resync) arrives; False when the socket must close."""
    while True:
        try:
            delivery = await subscription.next()
        except SubscriberOverflow:
            count_slow_close()
            await websocket.close(CLOSE_TRY_AGAIN_LATER, "Too far behind; reconnect.")
            return False
        if isinstance(delivery, Resync):
            count_resync()
            return True
        if isinstance(delivery, Frames) and any(text == day for _, text in delivery.items):
            return True


async def _read(entry_id: UUID) -> WaitlistEntry | None:
    owned = realtime()
    async with owned.pool.acquire(timeout=owned.acquire_timeout) as conn:
        return await select_entry(conn, entry_id)
