"""The asyncpg pool: created at startup, one connection per request, borrowed with a timeout."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from server.infra.pool_gauges import watch_pool


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    statement_timeout: float = 30.0,
    connect_timeout: float = 10.0,
) -> Any:
    """Open a pool whose connections encode json/jsonb with orjson.

    PostgreSQL cancels any statement running longer than `statement_timeout` seconds, and the
    client gives up waiting a moment later (the server may be the one that is stuck), so no
    query holds a connection for ever.
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        timeout=connect_timeout,
        command_timeout=statement_timeout + 1,
        server_settings={"statement_timeout": str(round(statement_timeout * 1000))},
    )
    watch_pool(pool)
    return pool


# What PostgreSQL being away or overloaded looks like to a caller: no connection (refused,
# reset, closed under us, the server starting or shutting down, too many clients) or no answer
# in time (the acquire timeout, the statement timeout).
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    TimeoutError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
    # A pooled connection that PostgreSQL's shutdown reached while it sat idle in the pool
    # (its FATAL message read, its socket not yet seen closed) is handed out, and its first
    # query fails with "another operation is in progress". The release after the request
    # finds it broken and closes it.
    asyncpg.InternalClientError,
)
