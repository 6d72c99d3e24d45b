"""A dependency failing under a request is a clear 503 the client may retry, never a 500.

- 503 `database_unavailable`: PostgreSQL refused or dropped the connection (down, restarting).
- 503 `busy`: no answer in time (every pooled connection busy past the acquire timeout, a
  statement past the statement timeout).
- 503 `service_unavailable`: Redis did not answer (for the few requests that need it).

Each carries `Retry-After`. Pages get the HTML error page with the same status.
"""

from __future__ import annotations

import logging

import asyncpg
from quart import Quart, Response, has_websocket_context, render_template, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.edge import errors
from server.edge.errors import APIError, api_error_response, request_line
from server.infra.db import DATABASE_OUTAGES

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def install_outage_answers(app: Quart) -> None:
    for kind in DATABASE_OUTAGES:
        app.register_error_handler(kind, _database_outage)
    app.register_error_handler(asyncpg.InterfaceError, _maybe_database_outage)
    for kind in (RedisConnectionError, RedisTimeoutError):
        app.register_error_handler(kind, _redis_outage)


async def _database_outage(error: Exception) -> Response:
    log.warning("503 on %s: %r", request_line(), error)
    if isinstance(error, TimeoutError | asyncpg.QueryCanceledError):
        return await _unavailable(
            "busy", "The server is too busy to answer right now. Please try again in a moment."
        )
    return await _unavailable(
        "database_unavailable",
        "The database is unavailable right now. Please try again in a moment.",
    )


async def _maybe_database_outage(error: Exception) -> Response | tuple[str, int]:
    """A connection lost inside a transaction surfaces as an InterfaceError from the
    transaction's exit ("the underlying connection is closed"), raised while handling the
    outage itself; any other InterfaceError is a bug."""
    if _caused_by_outage(error) or "connection is closed" in str(error):
        return await _database_outage(error)
    return await errors._handle_unexpected(error)


def _caused_by_outage(error: BaseException) -> bool:
    seen: BaseException | None = error.__context__
    while seen is not None:
        if isinstance(seen, DATABASE_OUTAGES):
            return True
        seen = seen.__context__
    return False


async def _redis_outage(error: Exception) -> Response:
    log.warning("503 on %s: %r", request_line(), error)
    return await _unavailable(
        "service_unavailable",
        "A service Appointly needs is unavailable right now. Please try again in a moment.",
    )


async def _unavailable(code: str, message: str) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _wants_page():
        html = await render_template("error.html", status=503, title="Temporarily unavailable")
        return Response(html, status=503, headers=headers)
    return api_error_response(APIError(503, code, message, headers=headers))


def _wants_page() -> bool:
    if has_websocket_context():
        return False
    if request.path.startswith(("/api/", "/webhooks/", "/auth/")) or request.path == "/healthz":
        return False
    return request.accept_mimetypes.best == "text/html"
