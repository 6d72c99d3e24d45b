"""The WebSocket routes: live slots of a service, and live alerts for a signed-in provider.

Each socket subscribes to its topic before reading anything from the database, so every change
committed after the read reaches it as an event: snapshot first, then changes, with no gap.
A socket never holds a database connection while it waits; it borrows one per read from real
time's own small pool, so busy pages never starve live sockets of connections or the reverse.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from quart import Blueprint, Response, current_app, websocket

from realtime.broker import Broker, Resync, SubscriberOverflow, Subscription, pass_through
from realtime.channels import appointments_topic, sessions_topic, slots_topic
from realtime.session_watch import relay_until_revoked, until_session_revoked
from realtime.slot_feed import SlotFeed
from server.auth.session_user import optional_user, session_user
from server.domain.slots import local_today
from server.edge.client_limits import refuse_socket_floods
from server.edge.errors import APIError
from server.infra.db import DATABASE_OUTAGES, create_pool
from server.infra.socket_metrics import (
    count_frame,
    count_resync,
    count_slow_close,
    counted_socket,
    observe_fanout,
)
from server.infra.state import app_state, config, db, release_db
from server.models.providers import select_provider_by_user
from server.models.services import Service, select_service
from server.usecases.services import slot_date_range

log = logging.getLogger(__name__)

blueprint = Blueprint("realtime", __name__)
# Every socket route here: an address opening too many connections is refused before the handshake.
blueprint.before_websocket(refuse_socket_floods)

EXTENSION_KEY = "appointly.realtime"

# Close codes: the contract's, plus 4400 for a bad range and 4401 for "sign in first".
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_PROVIDER = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TRY_AGAIN_LATER = 1013  # the socket fell behind; reconnecting gets a fresh snapshot
# A send that cannot complete in this long means the client stopped reading.
SEND_TIMEOUT = 10.0


class Realtime:
    """What one server process owns for its sockets: the broker, the slot feed and their
    database pool."""

    def __init__(self, broker: Broker, feed: SlotFeed, pool: Any, acquire_timeout: float) -> None:
        self.broker = broker
        self.feed = feed
        self.pool = pool
        self.acquire_timeout = acquire_timeout


def realtime() -> Realtime:
    owned: Realtime = current_app.extensions[EXTENSION_KEY]
    return owned


async def start_realtime() -> None:
    """Open real time's pool and start this process's one Redis subscription (after Redis is
    open)."""
    state = app_state()
    config = state.config
    assert config.database_url is not None
    pool = await create_pool(
        config.database_url,
        max_size=config.realtime_pool_size,
        statement_timeout=config.db_statement_timeout,
    )
    feed = SlotFeed(pool, acquire_timeout=config.db_acquire_timeout)
    broker = Broker(
        state.pubsub or state.require_redis(),
        {
            "slots": feed.handle,
            "appointments": pass_through,
            "sessions": pass_through,
            "waitlist": pass_through,  # realtime.waitlist_socket
        },
        ping_interval=config.redis_ping_interval,
        pong_timeout=config.redis_timeout,
    )
    broker.start()
    current_app.extensions[EXTENSION_KEY] = Realtime(
        broker, feed, pool, acquire_timeout=config.db_acquire_timeout
    )


async def stop_realtime() -> None:
    owned: Realtime | None = current_app.extensions.pop(EXTENSION_KEY, None)
    if owned is not None:
        await owned.broker.stop()
        await owned.pool.close()


@blueprint.websocket("/ws/services/<service_id>/slots")
@counted_socket("slots")
async def ws_service_slots(service_id: str) -> None:
    """A snapshot of the service's slots in `from`..`to`, then each change as it commits."""
    await websocket.accept()
    try:
        await _watch_slots(service_id)
    except DATABASE_OUTAGES as error:
        # The database is away or swamped (or the client stopped reading): the client
        # reconnects later and starts again from a fresh snapshot.
        log.warning("closing a slots socket: %r", error)
        await websocket.close(CLOSE_TRY_AGAIN_LATER, "Try again in a moment.")


async def _watch_slots(service_id: str) -> None:
    service = await _find_service(service_id)
    if service is None:
        await websocket.close(CLOSE_NOT_FOUND, "There is no such service.")
        return
    try:
        today = local_today(datetime.now(UTC), service.provider.zone)
        first, last = slot_date_range(websocket.args.get("from"), websocket.args.get("to"), today)
    except APIError as error:
        await websocket.close(CLOSE_BAD_REQUEST, error.message[:120])
        return
    owned = realtime()
    with (
        owned.broker.subscribe(slots_topic(service.id)) as subscription,
        # Slots crossing their minimum notice reach this socket as they cross it.
        owned.feed.edges.watch(service.id, service.provider.zone, owned.broker.deliver),
    ):
        zone = service.provider.timezone
        await _send(
            await owned.feed.snapshot(
                service.id, zone, first, last, not_before=subscription.created_at
            )
        )
        await _relay(subscription, service.id, zone, first, last, owned.feed)


async def _find_service(raw_id: str) -> Service | None:
    try:
        service_id = UUID(raw_id)
    except ValueError:
        return None
    owned = realtime()
    async with owned.pool.acquire(timeout=owned.acquire_timeout) as conn:
        return await select_service(conn, service_id)


async def _relay(
    subscription: Subscription,
    service_id: UUID,
    zone: str,
    first: date,
    last: date,
    feed: SlotFeed,
) -> None:
    while True:
        try:
            delivery = await subscription.next()
        except SubscriberOverflow:
            count_slow_close()
            await websocket.close(CLOSE_TRY_AGAIN_LATER, "Too far behind; reconnect.")
            return
        if isinstance(delivery, Resync):
            count_resync()
            await _send(
                await feed.snapshot(service_id, zone, first, last, not_before=delivery.requested_at)
            )
            continue
        for day, text in delivery.items:
            if day is None or first <= day <= last:
                await _send(text)
        observe_fanout(delivery.received_at)


async def _send(text: str) -> None:
    async with asyncio.timeout(SEND_TIMEOUT):
        await websocket.send(text)
    count_frame()


@blueprint.websocket("/ws/provider")
@counted_socket("provider")
async def ws_provider() -> Response | None:
    """Every change to the signed-in provider's appointments, from any server process;
    closed with 4401 once the session it was opened with is revoked."""
    origin = websocket.headers.get("Origin")
    if origin is not None and origin != config().base_origin:
        # Refused before the handshake completes: a foreign page must not ride our cookie.
        return Response("This socket is only for Appointly's own pages.", status=403)
    user = await optional_user()
    provider = None if user is None else await select_provider_by_user(await db(), user.id)
    await release_db()
    await websocket.accept()
    if user is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "Please sign in first.")
        return None
    if provider is None:
        await websocket.close(CLOSE_NOT_PROVIDER, "Become a provider first.")
        return None
    session_id = session_user().session_id
    assert session_id is not None  # the user was found through it
    owned = realtime()
    with (
        owned.broker.subscribe(appointments_topic(provider.id)) as subscription,
        owned.broker.subscribe(sessions_topic(user.id)) as notices,
    ):
        revoked = await relay_until_revoked(
            _relay_alerts(subscription),
            until_session_revoked(
                notices, owned.pool, session_id, user.id, interval=config().session_check_seconds
            ),
        )
    if revoked:
        await websocket.close(CLOSE_UNAUTHENTICATED, "Signed out; please sign in again.")
    return None


async def _relay_alerts(subscription: Subscription) -> None:
    while True:
        try:
            delivery = await subscription.next()
        except SubscriberOverflow:
            count_slow_close()
            await websocket.close(CLOSE_TRY_AGAIN_LATER, "Too far behind; reconnect.")
            return
        if isinstance(delivery, Resync):
            # Alerts published while this process had no Redis are gone: the page reloads
            # its lists rather than trusting them.
            count_resync()
            await _send('{"type":"resync"}')
            continue
        for _, text in delivery.items:
            await _send(text)
        observe_fanout(delivery.received_at)
