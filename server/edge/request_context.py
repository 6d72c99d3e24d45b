"""Every request's id, access log line and HTTP metrics, in one ASGI layer around the app.

The id is the trusted proxy's `X-Request-ID` (only from an address in FORWARDED_ALLOW_IPS, and
only if it is a short token of safe characters), else a new one. It is answered in the
response's `X-Request-ID` header, carried by every log line written while the request is
served (server/infra/logs.py), and put into 5xx error bodies (server/edge/errors.py).

Metrics and the access line name the route *template* (`/api/services/<service_id>`), never
the raw path: ids do not explode the metric series, and secrets in paths or query strings
(`/calendar/<token>.ics`, `?key=`, `?token=`) never reach the log.

This layer wraps the whole app, outside server/edge/forwarded.py, so it sees the real peer.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Sequence
from ipaddress import IPv6Address, ip_address
from typing import Any

from quart import Quart, has_request_context, has_websocket_context, request, websocket

from server.infra.config import TrustedNetwork
from server.infra.logs import (
    ACCESS_LOGGER,
    RequestLogContext,
    current_request,
    enter_request,
    leave_request,
)
from server.infra.metrics import HTTP_DURATION, HTTP_REQUESTS

Scope = dict[str, Any]

HEADER = b"x-request-id"
# A proxy's id is believed only if it looks like one: no log injection, no megabyte header.
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "unmatched"
# nginx's figure for "the client went away before an answer": not counted as our failure.
CLIENT_CLOSED = 499
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
# An unmatched path is logged (never a matched one: its template is), cut to this length.
LOGGED_PATH_LIMIT = 200

access_log = logging.getLogger(ACCESS_LOGGER)


class RequestContext:
    """ASGI middleware: server/app.py wraps the app (and the proxy-header layer) with it."""

    def __init__(self, app: Any, trusted: Sequence[TrustedNetwork]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        context = RequestLogContext(self._request_id(scope))
        token = enter_request(context)
        started = time.perf_counter()
        status = CLIENT_CLOSED  # unless the app answers (or fails)
        header = (HEADER, context.request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif kind == "websocket.accept":
                status = 101
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif kind == "websocket.close" and status == CLIENT_CLOSED:
                status = 403  # refused before the handshake completed
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            raise
        finally:
            _record(scope, context, status, time.perf_counter() - started)
            leave_request(token)

    def _request_id(self, scope: Scope) -> str:
        if self.trusted and self._from_trusted_proxy(scope):
            for name, value in scope["headers"]:
                if name.lower() == HEADER:
                    text: str = value.decode("latin-1").strip()
                    if VALID_ID.fullmatch(text):
                        return text
                    break
        return uuid.uuid4().hex

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        peer = scope.get("client")
        if not peer:
            return False
        try:
            address = ip_address(peer[0])
        except ValueError:
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted)


def _record(scope: Scope, context: RequestLogContext, status: int, seconds: float) -> None:
    route = context.route or UNMATCHED
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    method = method if method in METHODS or method == "WEBSOCKET" else "other"
    if scope["type"] == "http":
        HTTP_REQUESTS.labels(route, method, str(status)).inc()
        HTTP_DURATION.labels(route, method).observe(seconds)
    shown = context.route or _unmatched_path(scope)
    client = (scope.get("client") or ("-",))[0]
    access_log.info(
        '%s "%s %s" %s %.1fms',
        client,
        method,
        shown,
        status,
        seconds * 1000,
        extra={
            "route": route,
            "method": method,
            "status": status,
            "duration": round(seconds, 6),
            "client": client,
        },
    )


def _unmatched_path(scope: Scope) -> str:
    """The path of a request no route matched, without its query string, printable."""
    path = str(scope.get("path", ""))[:LOGGED_PATH_LIMIT]
    return "".join(char if char.isprintable() and char != '"' else "?" for char in path)


def note_route() -> None:
    """Remember the matched route's template for this request's metrics and access line
    (a teardown hook: it runs however the request ended)."""
    context = current_request()
    if context is None:
        return
    rule = None
    if has_request_context():
        rule = request.url_rule
    elif has_websocket_context():
        rule = websocket.url_rule
    if rule is not None:
        context.route = rule.rule


def install_request_context(app: Quart, trusted: Sequence[TrustedNetwork]) -> None:
    """Wrap the app (after every other ASGI layer) and note each request's route."""

    async def teardown(_: BaseException | None = None) -> None:
        note_route()

    app.teardown_request(teardown)
    app.teardown_websocket(teardown)
    app.asgi_app = RequestContext(app.asgi_app, trusted)  # type: ignore[method-assign, assignment]
