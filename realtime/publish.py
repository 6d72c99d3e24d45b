"""Telling every process what changed, through Redis pub/sub, after the change has committed.

Called only after the transaction has committed, so a process that re-reads the database on
hearing the news sees the change. Redis being down must not turn a committed change into an
error for the caller, so a failed publish is logged and dropped; every socket gets a fresh
snapshot when its process regains Redis, which covers what was missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from redis.exceptions import RedisError

from realtime.channels import (
    SlotsMessage,
    appointments_channel,
    sessions_channel,
    slots_channel,
    waitlist_channel,
)
from realtime.cluster_publisher import ClusterAwarePublisher, Publisher
from server.models.slots import Slot

log = logging.getLogger(__name__)

# Past this many slots the message says "re-read the service" instead of listing them all.
MAX_LISTED_SLOTS = 200
# However slow Redis is, a publish after a commit costs the request at most this long (the
# client's own socket timeouts usually fire first).
PUBLISH_TIMEOUT = 2.0


# One message on its way out: the channel and the bytes published on it.
Message = tuple[str, bytes]


def slot_changes_message(
    service_id: UUID,
    zone: ZoneInfo,
    *,
    changed: Sequence[Slot] = (),
    removed: Sequence[Slot] = (),
    reset: bool = False,
) -> Message | None:
    """The message announcing slots that now exist or changed (`changed`) and ones that went
    (`removed`); None when there is nothing to say."""
    if not (changed or removed or reset):
        return None
    if reset or len(changed) + len(removed) > MAX_LISTED_SLOTS:
        message = SlotsMessage(str(service_id), zone.key, [], reset=True)
    else:
        listed = [{**slot.to_json(zone), "removed": True} for slot in removed]
        listed += [{**slot.to_json(zone), "removed": False} for slot in changed]
        message = SlotsMessage(str(service_id), zone.key, listed, published_at=time.time())
    return slots_channel(service_id), message.encode()


def appointment_event_message(
    provider_id: UUID,
    event: str,
    appointment: dict[str, Any],
    *,
    previous: dict[str, Any] | None = None,
) -> Message:
    """The message announcing a change to one of a provider's appointments, as /ws/provider
    sends it (a reschedule with the `previous` start and end times)."""
    body: dict[str, Any] = {"type": "appointment", "event": event, "appointment": appointment}
    if previous is not None:
        body["previous"] = previous
    return appointments_channel(provider_id), orjson.dumps(body)


def waitlist_changed_message(service_id: UUID, day: date) -> Message:
    """The message saying the line for one of the service's days changed (an offer made,
    passed on, claimed; someone joined or left): that day's waitlist sockets re-read."""
    return waitlist_channel(service_id), day.isoformat().encode()


async def publish_messages(redis: Publisher | None, messages: Sequence[Message]) -> None:
    """Publish all of a commit's messages at once, through one pipeline (one round trip).

    Commits that publish while a pipeline is on its way join the next one, so a process
    sends one pipeline at a time whatever its rate of commits (hundreds of requests each
    taking a connection from the client's pool and its lock made a queue of their own).
    Returns once the messages are sent (or given up on: never raises)."""
    if redis is None or not messages:
        return
    publisher = _PUBLISHERS.get(redis)
    if publisher is None:
        publisher = _PUBLISHERS[redis] = _Publisher()
    await publisher.send(redis, messages)


class _Publisher:
    """One Redis client's outgoing messages in this process: the batch being gathered while
    the previous one is on its way, and the task sending them."""

    def __init__(self) -> None:
        self.gathering: list[Message] = []
        self.gathered: asyncio.Future[None] | None = None
        self.sender: asyncio.Task[None] | None = None

    async def send(self, redis: Publisher, messages: Sequence[Message]) -> None:
        if self.gathered is None:
            self.gathered = asyncio.get_running_loop().create_future()
        self.gathering.extend(messages)
        sent = self.gathered
        if self.sender is None or self.sender.done():
            self.sender = asyncio.create_task(self._send_batches(redis))
        # Shielded: a request cancelled meanwhile must not cancel the others' batch.
        await asyncio.shield(sent)

    async def _send_batches(self, redis: Publisher) -> None:
        try:
            while self.gathered is not None:
                batch, sent = self.gathering, self.gathered
                self.gathering, self.gathered = [], None
                try:
                    await _publish(redis, batch)
                except Exception:  # the client closed under us (shutdown): never the caller's
                    log.warning("could not publish %d messages", len(batch), exc_info=True)
                finally:
                    sent.set_result(None)
        finally:
            # Stopped (the process is shutting down): nobody waits for a batch never sent.
            if self.gathered is not None and not self.gathered.done():
                self.gathered.set_result(None)
                self.gathering, self.gathered = [], None


_PUBLISHERS: weakref.WeakKeyDictionary[Publisher, _Publisher] = weakref.WeakKeyDictionary()


async def publish_slot_changes(
    redis: Publisher | None,
    service_id: UUID,
    zone: ZoneInfo,
    *,
    changed: Sequence[Slot] = (),
    removed: Sequence[Slot] = (),
    reset: bool = False,
) -> None:
    """Announce slots that now exist or changed (`changed`) and ones that went (`removed`)."""
    message = slot_changes_message(service_id, zone, changed=changed, removed=removed, reset=reset)
    await publish_messages(redis, [] if message is None else [message])


async def publish_appointment_event(
    redis: Publisher | None,
    provider_id: UUID,
    event: str,
    appointment: dict[str, Any],
    *,
    previous: dict[str, Any] | None = None,
) -> None:
    """Announce a change to one of a provider's appointments (see appointment_event_message)."""
    if redis is None:
        return
    message = appointment_event_message(provider_id, event, appointment, previous=previous)
    await publish_messages(redis, [message])


async def publish_sessions_revoked(redis: Publisher | None, user_id: UUID) -> None:
    """Announce that some of a user's sessions ended (logout, password change or reset), so
    the sockets they opened check theirs at once instead of at their next periodic check."""
    await publish_messages(redis, [(sessions_channel(user_id), b"revoked")])


async def publish_waitlist_changed(redis: Publisher | None, service_id: UUID, day: date) -> None:
    """Announce that the line for one of the service's days changed."""
    await publish_messages(redis, [waitlist_changed_message(service_id, day)])


async def _publish(redis: Publisher, messages: Sequence[Message]) -> None:
    """Every message through one non-transactional pipeline: one round trip to Redis (on a
    Redis Cluster, SPUBLISH to each channel's shard: realtime.cluster_publisher)."""
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            if isinstance(redis, ClusterAwarePublisher):
                await redis.publish_many(messages)
                return
            async with redis.pipeline(transaction=False) as pipe:
                for channel, data in messages:
                    pipe.publish(channel, data)
                await pipe.execute()
    except (RedisError, OSError, TimeoutError):
        channels = ", ".join(channel for channel, _ in messages)
        log.warning("could not publish on %s", channels, exc_info=True)
