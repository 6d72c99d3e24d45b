"""Rate limits per client address for what a script could flood anonymously: bookings (and
waitlist joins, which share the bookings' quota), sign-ups and WebSocket connects.

The counting is server/auth/rate_limit.py's, in Redis, so every process shares one quota. The
client address is the one Hypercorn gives the app, which server/edge/forwarded.py replaces with
the forwarded one for trusted proxies only. If Redis cannot be reached the limits let requests
through (logged): an outage of the counters must not take bookings down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from ipaddress import ip_address, ip_network
from typing import Any, TypeVar, cast

from quart import Response, has_websocket_context, request, websocket
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.auth.rate_limit import RequestQuota
from server.edge.api_docs import errors
from server.edge.errors import APIError, api_error_response
from server.infra.config import Config, RateLimit
from server.infra.state import config, redis

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class ClientLimit:
    """One quota per client address; routes naming the same limit spend the same quota."""

    name: str
    setting: Callable[[Config], RateLimit | None]
    message: str


BOOKINGS = ClientLimit(
    "bookings",
    lambda settings: settings.booking_rate_limit,
    "Too many bookings from your address. Try again later.",
)
SIGNUPS = ClientLimit(
    "signups",
    lambda settings: settings.signup_rate_limit,
    "Too many new accounts from your address. Try again later.",
)
SOCKET_CONNECTS = ClientLimit(
    "socket-connects",
    lambda settings: settings.websocket_rate_limit,
    "Too many live connections opened from your address. Try again shortly.",
)


def client_key(address: str | None) -> str:
    """What a client is counted as: its IPv4 address, or its IPv6 /64 (one subscriber usually
    holds a whole /64, so counting single IPv6 addresses would be no limit at all)."""
    if not address:
        return "unknown"
    try:
        parsed = ip_address(address)
    except ValueError:
        return address[:100]
    if parsed.version == 6:
        mapped = parsed.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _client_address() -> str | None:
    if has_websocket_context():
        return websocket.remote_addr
    return request.remote_addr


async def spend(limit: ClientLimit) -> None:
    """Count this request against its client's quota: 429 `rate_limited` (with Retry-After)
    once it is spent. Does nothing when the limit is off or Redis cannot be reached."""
    await spend_for_client(limit, config(), redis(), _client_address())


async def spend_for_client(
    limit: ClientLimit, settings: Config, counters: Redis, address: str | None
) -> None:
    """`spend` for a server that is not Quart (the socket tier): the client's address given."""
    rate = limit.setting(settings)
    if rate is None:
        return
    key = f"appointly:client-limit:{limit.name}:{client_key(address)}"
    quota = RequestQuota(counters, ((key, rate.count),), rate.seconds, message=limit.message)
    try:
        await quota.spend()
    except (RedisError, OSError) as error:  # TimeoutError is an OSError
        log.warning("rate limit %s not checked, Redis unavailable: %s", limit.name, error)


def limited_per_client(limit: ClientLimit) -> Callable[[Handler], Handler]:
    """Route decorator (put it right under the route's): spend `limit` before anything else
    runs, validation included, and document the 429 in /openapi.json."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            await spend(limit)
            return await handler(*args, **kwargs)

        return errors(429)(cast(Handler, limited))

    return decorate


async def refuse_socket_floods() -> Response | None:
    """A `before_websocket` hook: an address over its connect quota is refused before the
    handshake with 429 and Retry-After (browsers see a failed connect and back off)."""
    try:
        await spend(SOCKET_CONNECTS)
    except APIError as error:
        return api_error_response(error)
    return None
