"""The live socket flows, whatever server carries the socket (realtime.transport).

Each flow subscribes to its topic before reading anything from the database, so every change
committed after the read reaches it as an event: snapshot first, then changes, with no gap.
A socket never holds a database connection while it waits; it borrows one per read from real
time's own pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from realtime.broker import Resync, SubscriberOverflow, Subscription
from realtime.channels import appointments_topic, sessions_topic, slots_topic
from realtime.process import Realtime
from realtime.session_watch import relay_until_revoked, until_session_revoked
from realtime.transport import (
    CLOSE_BAD_REQUEST,
    CLOSE_NOT_FOUND,
    CLOSE_TRY_AGAIN_LATER,
    Transport,
)
from server.domain.slots import local_today
from server.edge.errors import APIError
from server.infra.metrics import WEBSOCKET_RESYNCS, WEBSOCKET_SLOW_CLOSED
from server.infra.socket_metrics import observe_fanout
from server.models.services import Service
from server.usecases.services import slot_date_range

RESYNC_FRAME = '{"type":"resync"}'


@dataclass(frozen=True)
class SlotWatch:
    """A slots socket's service and the days it watches."""

    service: Service
    first: date
    last: date


@dataclass(frozen=True)
class Refusal:
    """Why a socket is closed right after the handshake."""

    code: int
    reason: str


async def resolve_slot_watch(
    owned: Realtime, raw_id: str, raw_from: str | None, raw_to: str | None
) -> SlotWatch | Refusal:
    """The service and range a slots socket asked for, or the close it gets (4404, 4400)."""
    service = await find_service(owned, raw_id)
    if service is None:
        return Refusal(CLOSE_NOT_FOUND, "There is no such service.")
    try:
        today = local_today(datetime.now(UTC), service.provider.zone)
        first, last = slot_date_range(raw_from, raw_to, today)
    except APIError as error:
        return Refusal(CLOSE_BAD_REQUEST, error.message[:120])
    return SlotWatch(service, first, last)


async def find_service(owned: Realtime, raw_id: str) -> Service | None:
    try:
        service_id = UUID(raw_id)
    except ValueError:
        return None
    return await owned.read_service(service_id)


async def relay_slots(owned: Realtime, transport: Transport, watch: SlotWatch) -> None:
    """One socket's own queue: its snapshot, then each change in its range, until it closes
    (1013 once it falls too far behind)."""
    service, first, last = watch.service, watch.first, watch.last
    zone = service.provider.timezone
    with (
        owned.broker.subscribe(slots_topic(service.id)) as subscription,
        # Slots crossing their minimum notice reach this socket as they cross it.
        owned.feed.edges.watch(service.id, service.provider.zone, owned.broker.deliver),
    ):
        await transport.send(
            await owned.feed.snapshot(
                service.id, zone, first, last, not_before=subscription.created_at
            )
        )
        while True:
            try:
                delivery = await subscription.next()
            except SubscriberOverflow:
                WEBSOCKET_SLOW_CLOSED.labels("slots").inc()
                await transport.close(CLOSE_TRY_AGAIN_LATER, "Too far behind; reconnect.")
                return
            if isinstance(delivery, Resync):
                WEBSOCKET_RESYNCS.labels("slots").inc()
                await transport.send(
                    await owned.feed.snapshot(
                        service.id, zone, first, last, not_before=delivery.requested_at
                    )
                )
                continue
            for day, text in delivery.items:
                if day is None or first <= day <= last:
                    await transport.send(text)
            observe_fanout(delivery.received_at)


async def relay_provider_alerts(
    owned: Realtime,
    transport: Transport,
    *,
    provider_id: UUID,
    user_id: UUID,
    session_id: UUID,
    session_check_seconds: float,
) -> bool:
    """Every change to the provider's appointments until the socket ends (False) or the session
    it was opened with is revoked (True: the caller closes 4401)."""
    with (
        owned.broker.subscribe(appointments_topic(provider_id)) as subscription,
        owned.broker.subscribe(sessions_topic(user_id)) as notices,
    ):
        return await relay_until_revoked(
            _relay_alerts(subscription, transport),
            until_session_revoked(
                notices, owned.pool, session_id, user_id, interval=session_check_seconds
            ),
        )


async def _relay_alerts(subscription: Subscription, transport: Transport) -> None:
    while True:
        try:
            delivery = await subscription.next()
        except SubscriberOverflow:
            WEBSOCKET_SLOW_CLOSED.labels("provider").inc()
            await transport.close(CLOSE_TRY_AGAIN_LATER, "Too far behind; reconnect.")
            return
        if isinstance(delivery, Resync):
            WEBSOCKET_RESYNCS.labels("provider").inc()
            # Alerts published while this process had no Redis are gone: the page reloads
            # its lists rather than trusting them.
            await transport.send(RESYNC_FRAME)
            continue
        for _, text in delivery.items:
            await transport.send(text)
        observe_fanout(delivery.received_at)
