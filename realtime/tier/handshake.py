"""What the socket tier decides before and right after a handshake: which route a request is,
refusals as HTTP answers (404, 403 foreign Origin, 429 too many connects), the client's address
behind trusted proxies, and the signed-in user from quart-auth's session cookie.

Each rule is the web app's own (server.edge.client_limits, server.edge.forwarded,
server.auth.session_cookie), called with what `websockets` hands us instead of Quart's request.
"""

from __future__ import annotations

import http
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import orjson
from redis.asyncio import Redis
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from realtime.process import Realtime
from server.auth.session_cookie import session_id_from_cookies
from server.edge.client_limits import SOCKET_CONNECTS, spend_for_client
from server.edge.errors import APIError, error_body
from server.edge.forwarded import TrustedProxyHeaders
from server.infra.config import Config
from server.models.sessions import select_session_user_id

SLOTS = "slots"
PROVIDER = "provider"
WAITLIST = "waitlist"


@dataclass(frozen=True)
class Route:
    """One of the three socket routes, its path parameter and its query."""

    kind: str
    key: str
    query: dict[str, str]

    def arg(self, name: str) -> str | None:
        return self.query.get(name)


def route_of(path: str) -> Route | None:
    """`/ws/services/{id}/slots`, `/ws/provider` or `/ws/waitlist/{id}`; None for anything else."""
    parts = urlsplit(path)
    # Like Quart's `args.get`: the first value of each name, blank values kept.
    query = {name: values[0] for name, values in parse_qs(parts.query, True).items()}
    segments = parts.path.split("/")
    if len(segments) == 5 and segments[1:3] == ["ws", "services"] and segments[4] == "slots":
        return Route(SLOTS, segments[3], query)
    if parts.path == "/ws/provider":
        return Route(PROVIDER, "", query)
    if len(segments) == 4 and segments[1:3] == ["ws", "waitlist"] and segments[3]:
        return Route(WAITLIST, segments[3], query)
    return None


def is_own_origin(request: Request, config: Config) -> bool:
    """True unless the handshake names an Origin that is not BASE_URL's (a foreign page)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == config.base_origin


class Gate:
    """The checks a handshake passes before it is accepted."""

    def __init__(self, config: Config, counters: Redis) -> None:
        self.config = config
        self.counters = counters
        self.proxies = TrustedProxyHeaders(None, config.forwarded_allow_ips)

    def client_address(self, peer: str, request: Request) -> str:
        return self.proxies.client_address(peer, request.headers.get_all("X-Forwarded-For"))

    async def refusal(self, peer: str, request: Request) -> Response | None:
        """The HTTP answer that refuses this handshake, or None to accept it."""
        route = route_of(request.path)
        if route is None:
            return plain_response(http.HTTPStatus.NOT_FOUND, "There is no such socket.")
        try:
            await spend_for_client(
                SOCKET_CONNECTS, self.config, self.counters, self.client_address(peer, request)
            )
        except APIError as error:
            return error_response(error)
        if route.kind == PROVIDER and not is_own_origin(request, self.config):
            # Refused before the handshake completes: a foreign page must not ride our cookie.
            return plain_response(
                http.HTTPStatus.FORBIDDEN, "This socket is only for Appointly's own pages."
            )
        return None


async def signed_in_user_id(owned: Realtime, config: Config, request: Request) -> UUID | None:
    """The user the session cookie signs in, as the web app sees it (the session row must
    exist and be unexpired); None without a valid cookie."""
    session_id = session_id_of(config, request)
    if session_id is None:
        return None
    async with owned.pool.acquire(timeout=owned.acquire_timeout) as conn:
        return await select_session_user_id(conn, session_id)


def session_id_of(config: Config, request: Request) -> UUID | None:
    cookie_header = "; ".join(request.headers.get_all("Cookie"))
    return session_id_from_cookies(config.secret_key, cookie_header)


def plain_response(status: http.HTTPStatus, text: str) -> Response:
    body = text.encode()
    headers = Headers(
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return Response(status.value, status.phrase, headers, body)


def error_response(error: APIError) -> Response:
    """The API's JSON error body (and headers, Retry-After) as a refused handshake."""
    body = orjson.dumps(error_body(error.code, error.message, error.fields))
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    for name, value in error.headers.items():
        headers[name] = value
    status = http.HTTPStatus(error.status)
    return Response(status.value, status.phrase, headers, body)
