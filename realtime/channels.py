"""The Redis channels events travel on, and the shape of what is sent on them.

Slot changes go to one channel per service and appointment changes to one per provider, so an
outside consumer can subscribe to exactly what it needs; each server process listens to all of
them through pattern subscriptions on a single connection (see realtime.broker). A user's
channel says that some of their sessions were revoked (its signed-in sockets check theirs). A
service's waitlist channel names a day whose line changed (its waitlist sockets re-read theirs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

PREFIX = "appointly"
SLOTS_PATTERN = f"{PREFIX}:service:*:slots"
APPOINTMENTS_PATTERN = f"{PREFIX}:provider:*:appointments"
SESSIONS_PATTERN = f"{PREFIX}:user:*:sessions"
WAITLIST_PATTERN = f"{PREFIX}:service:*:waitlist"
PATTERNS = (SLOTS_PATTERN, APPOINTMENTS_PATTERN, SESSIONS_PATTERN, WAITLIST_PATTERN)


def slots_channel(service_id: UUID | str) -> str:
    return f"{PREFIX}:service:{service_id}:slots"


def appointments_channel(provider_id: UUID | str) -> str:
    return f"{PREFIX}:provider:{provider_id}:appointments"


def sessions_channel(user_id: UUID | str) -> str:
    return f"{PREFIX}:user:{user_id}:sessions"


def waitlist_channel(service_id: UUID | str) -> str:
    """Says which of the service's days had its waitlist change (the message is the day)."""
    return f"{PREFIX}:service:{service_id}:waitlist"


@dataclass(frozen=True)
class Topic:
    """What a channel is about: ("slots", service id), ("appointments", provider id),
    ("sessions", user id) or ("waitlist", service id)."""

    kind: str
    key: str


def topic_of(channel: str) -> Topic | None:
    parts = channel.split(":")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    if parts[1] == "service" and parts[3] == "slots":
        return Topic("slots", parts[2])
    if parts[1] == "provider" and parts[3] == "appointments":
        return Topic("appointments", parts[2])
    if parts[1] == "user" and parts[3] == "sessions":
        return Topic("sessions", parts[2])
    if parts[1] == "service" and parts[3] == "waitlist":
        return Topic("waitlist", parts[2])
    return None


def channel_of(topic: Topic) -> str:
    """The channel a topic's changes travel on (the inverse of topic_of)."""
    return _CHANNELS[topic.kind](topic.key)


_CHANNELS = {
    "slots": slots_channel,
    "appointments": appointments_channel,
    "sessions": sessions_channel,
    "waitlist": waitlist_channel,
}


def slots_topic(service_id: UUID | str) -> Topic:
    return Topic("slots", str(service_id))


def appointments_topic(provider_id: UUID | str) -> Topic:
    return Topic("appointments", str(provider_id))


def sessions_topic(user_id: UUID | str) -> Topic:
    return Topic("sessions", str(user_id))


def waitlist_topic(service_id: UUID | str) -> Topic:
    return Topic("waitlist", str(service_id))


@dataclass(frozen=True)
class SlotsMessage:
    """A change to a service's slots.

    `slots` are the changed slots as the API shows them (times in the provider's `timezone`),
    each with `removed` true when the row no longer offers that time (deleted, or its booking
    was cancelled). `reset` means "too much
    changed to list: re-read everything" and comes with no slots. `published_at` is the
    publisher's wall clock (seconds since the epoch) right after its commit, for the fan-out
    latency metric; older publishers leave it out.
    """

    service_id: str
    timezone: str
    slots: list[dict[str, Any]]
    reset: bool = False
    published_at: float | None = None

    def encode(self) -> bytes:
        body: dict[str, Any] = {
            "service_id": self.service_id,
            "timezone": self.timezone,
            "slots": self.slots,
            "reset": self.reset,
        }
        if self.published_at is not None:
            body["published_at"] = self.published_at
        return orjson.dumps(body)

    @classmethod
    def decode(cls, data: bytes) -> SlotsMessage:
        body = orjson.loads(data)
        return cls(
            service_id=str(body["service_id"]),
            timezone=str(body.get("timezone") or "UTC"),
            slots=list(body.get("slots") or []),
            reset=bool(body.get("reset")),
            published_at=_seconds(body.get("published_at")),
        )


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
