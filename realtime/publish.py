"""Telling every process that a service's slots changed, through Redis pub/sub.

Called after the transaction that changed the slots has committed, so a subscriber that
re-reads the database sees the change. Redis being down must not turn a committed change into
an error for the caller, so a failed publish is logged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Past this many ids the message says "re-read the service" instead of listing them all.
MAX_LISTED_SLOT_IDS = 500


def slots_channel(service_id: UUID) -> str:
    return f"appointly:service:{service_id}:slots"


async def publish_slots_changed(
    redis: Redis, service_id: UUID, slot_ids: Sequence[UUID] | None = None
) -> None:
    """Announce changed slots: `slot_ids` lists them, or None means "re-read the service".

    The message is `{"service_id": "…", "slot_ids": ["…", …] | null}`; the ids include
    removed slots, which a subscriber will no longer find in the database.
    """
    listed: list[str] | None = None
    if slot_ids is not None and len(slot_ids) <= MAX_LISTED_SLOT_IDS:
        listed = [str(slot_id) for slot_id in slot_ids]
    message = orjson.dumps({"service_id": str(service_id), "slot_ids": listed})
    try:
        await redis.publish(slots_channel(service_id), message)
    except (RedisError, OSError):
        log.warning("could not publish slot changes for service %s", service_id, exc_info=True)
