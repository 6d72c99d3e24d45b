"""WebSocket metrics, recorded by one-line calls in realtime/: connections open by kind,
frames sent, slow sockets closed 1013, resyncs, and fan-out latency (from the moment the
process heard of the change from Redis to the frame's send; publishing follows the commit
within a Redis round trip)."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from server.infra.metrics import (
    FANOUT_LATENCY,
    WEBSOCKET_CONNECTIONS,
    WEBSOCKET_FRAMES_SENT,
    WEBSOCKET_RESYNCS,
    WEBSOCKET_SLOW_CLOSED,
)

Route = TypeVar("Route", bound=Callable[..., Awaitable[Any]])

_kind: ContextVar[str] = ContextVar("appointly_socket_kind", default="unknown")


def counted_socket(kind: str) -> Callable[[Route], Route]:
    """Count the route's open sockets under `kind` (slots, provider, waitlist); the frames,
    closes and resyncs counted while it runs are that kind's."""

    def decorate(route: Route) -> Route:
        @functools.wraps(route)
        async def serve(*args: Any, **kwargs: Any) -> Any:
            _kind.set(kind)
            gauge = WEBSOCKET_CONNECTIONS.labels(kind)
            gauge.inc()
            try:
                return await route(*args, **kwargs)
            finally:
                gauge.dec()

        return serve  # type: ignore[return-value]

    return decorate


def count_frame() -> None:
    WEBSOCKET_FRAMES_SENT.labels(_kind.get()).inc()


def count_slow_close() -> None:
    WEBSOCKET_SLOW_CLOSED.labels(_kind.get()).inc()


def count_resync() -> None:
    WEBSOCKET_RESYNCS.labels(_kind.get()).inc()


def observe_fanout(received_at: float) -> None:
    """A delivery heard at `received_at` (time.monotonic()) has just been sent."""
    FANOUT_LATENCY.observe(time.monotonic() - received_at)
