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
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from realtime.channels import (
    SlotsMessage,
    appointments_channel,
    sessions_channel,
    slots_channel,
    waitlist_channel,
)
from server.models.slots import Slot

log = logging.getLogger(__name__)

# Past this many slots the message says "re-read the service" instead of listing them all.
MAX_LISTED_SLOTS = 200
# However slow Redis is, a publish after a commit costs the request at most this long (the
# client's own socket timeouts usually fire first).
PUBLISH_TIMEOUT = 2.0


async def publish_slot_changes(
    redis: Redis | None,
    service_id: UUID,
    zone: ZoneInfo,
    *,
    changed: Sequence[Slot] = (),
    removed: Sequence[Slot] = (),
    reset: bool = False,
) -> None:
    """Announce slots that now exist or changed (`changed`) and ones that went (`removed`)."""
    if redis is None or not (changed or removed or reset):
        return
    if reset or len(changed) + len(removed) > MAX_LISTED_SLOTS:
        message = SlotsMessage(str(service_id), zone.key, [], reset=True)
    else:
        listed = [{**slot.to_json(zone), "removed": True} for slot in removed]
        listed += [{**slot.to_json(zone), "removed": False} for slot in changed]
        message = SlotsMessage(str(service_id), zone.key, listed, published_at=time.time())
    await _publish(redis, slots_channel(service_id), message.encode())


async def publish_appointment_event(
    redis: Redis | None,
    provider_id: UUID,
    event: str,
    appointment: dict[str, Any],
    *,
    previous: dict[str, Any] | None = None,
) -> None:
    """Announce a change to one of a provider's appointments, as /ws/provider sends it (a
    reschedule with the `previous` start and end times)."""
    if redis is None:
        return
    body: dict[str, Any] = {"type": "appointment", "event": event, "appointment": appointment}
    if previous is not None:
        body["previous"] = previous
    frame = orjson.dumps(body)
    await _publish(redis, appointments_channel(provider_id), frame)


async def publish_sessions_revoked(redis: Redis | None, user_id: UUID) -> None:
    """Announce that some of a user's sessions ended (logout, password change or reset), so
    the sockets they opened check theirs at once instead of at their next periodic check."""
    if redis is None:
        return
    await _publish(redis, sessions_channel(user_id), b"revoked")


async def publish_waitlist_changed(redis: Redis | None, service_id: UUID, day: date) -> None:
    """Announce that the line for one of the service's days changed (an offer made, passed on,
    claimed; someone joined or left), so that day's waitlist sockets re-read their entries."""
    if redis is None:
        return
    await _publish(redis, waitlist_channel(service_id), day.isoformat().encode())


async def _publish(redis: Redis, channel: str, data: bytes) -> None:
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            await redis.publish(channel, data)
    except (RedisError, OSError, TimeoutError):
        log.warning("could not publish on %s", channel, exc_info=True)
