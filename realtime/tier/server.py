"""The socket tier's server: `/ws/services/{id}/slots`, `/ws/provider` and `/ws/waitlist/{id}`
served by `websockets` (asyncio), with exactly the web app's contract.

Slots sockets are fanned out by realtime.tier.fanout (one encoded frame per group of sockets);
provider and waitlist sockets are few per topic and run the shared per-socket flows
(realtime.flows, realtime.waitlist_watch) on this server's connections. Compression is
declined, as under Hypercorn (realtime.compression): it would cost each idle socket a
compressor and make every socket's bytes different.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from http import HTTPStatus
from typing import Any

from redis.asyncio import Redis
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime.flows import Refusal, relay_provider_alerts, resolve_slot_watch
from realtime.process import Realtime, open_realtime
from realtime.tier.fanout import SLOW_SOCKET_BYTES, TICK, SlotFanout
from realtime.tier.handshake import (
    PROVIDER,
    SLOTS,
    WAITLIST,
    Gate,
    Route,
    is_own_origin,
    route_of,
    session_id_of,
    signed_in_user_id,
)
from realtime.transport import (
    CLOSE_NOT_PROVIDER,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    SEND_TIMEOUT,
)
from realtime.waitlist_watch import watch_waitlist_entry
from server.infra.config import Config
from server.infra.db import DATABASE_OUTAGES
from server.infra.metrics import WEBSOCKET_CONNECTIONS, WEBSOCKET_FRAMES_SENT
from server.infra.redis_clients import open_redis, open_subscriber_redis
from server.models.providers import select_provider_by_user

# What a load balancer asks to tell whether the tier is up (answered without a handshake).
HEALTH_PATH = "/healthz"

log = logging.getLogger(__name__)
# `websockets` logs every connection's opening and closing at INFO: with 10,000 watchers that
# is a log line per socket. Warnings and errors still come through.
connection_log = logging.getLogger("realtime.tier.connections")
connection_log.setLevel(logging.WARNING)

# Clients only ever send a close frame; anything bigger than this is not one of ours.
MAX_CLIENT_MESSAGE = 4096
# An accept backlog for a crowd of reconnects (the kernel caps it at somaxconn).
BACKLOG = 4096
# Stopping waits this long for open sockets to finish their closing handshakes.
STOP_TIMEOUT = 5.0


class TierTransport:
    """A `websockets` connection, as the shared flows use it."""

    def __init__(self, socket: ServerConnection, kind: str) -> None:
        self.socket = socket
        self.kind = kind

    async def send(self, text: str) -> None:
        async with asyncio.timeout(SEND_TIMEOUT):
            await self.socket.send(text)
        WEBSOCKET_FRAMES_SENT.labels(self.kind).inc()

    async def close(self, code: int, reason: str) -> None:
        await self.socket.close(code, reason)


class SocketTier:
    """One tier process's sockets: its own Redis client, real time's broker, feed and pool."""

    def __init__(
        self,
        config: Config,
        *,
        tick: float = TICK,
        slow_socket_bytes: int = SLOW_SOCKET_BYTES,
    ) -> None:
        self.config = config
        self.tick = tick
        self.slow_socket_bytes = slow_socket_bytes
        self.redis: Redis | None = None
        # REDIS_PUBSUB_URL's client when set (plain or a cluster node), else self.redis.
        self.pubsub: Redis | None = None
        self.owned: Realtime | None = None
        self.fanout: SlotFanout | None = None
        self.gate: Gate | None = None
        self.server: Server | None = None

    async def start(self, host: str, port: int) -> None:
        """Open Redis, the database pool and the broker, then listen on host:port."""
        assert self.config.redis_url is not None
        self.redis = open_redis(self.config.redis_url, self.config)
        # The tier's only pool: snapshots, the broker's re-reads, the handshakes' look-ups.
        self.pubsub = open_subscriber_redis(self.config, self.redis)
        self.owned = await open_realtime(
            self.config, self.pubsub, pool_size=self.config.db_pool_size
        )
        self.fanout = SlotFanout(
            self.owned, tick=self.tick, slow_socket_bytes=self.slow_socket_bytes
        )
        self.gate = Gate(self.config, self.redis)
        self.server = await serve(
            self._handle,
            host,
            port,
            process_request=self._refuse,
            compression=None,
            max_size=MAX_CLIENT_MESSAGE,
            backlog=BACKLOG,
            server_header=None,
            logger=connection_log,
        )

    @property
    def port(self) -> int:
        assert self.server is not None
        sockets = list(self.server.sockets)
        return int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.server.wait_closed()
            except TimeoutError:
                # A client that never finishes its closing handshake must not hold us up.
                log.warning("some sockets did not close within %s s", STOP_TIMEOUT)
        if self.owned is not None:
            await self.owned.close()
        if self.pubsub is not None and self.pubsub is not self.redis:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    async def _refuse(self, socket: ServerConnection, request: Request) -> Response | None:
        if request.path == HEALTH_PATH:
            # A load balancer's check (HAProxy `option httpchk`): this process is listening.
            return socket.respond(HTTPStatus.OK, '{"ok": true}\n')
        assert self.gate is not None
        return await self.gate.refusal(_peer(socket), request)

    async def _handle(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        route = route_of(socket.request.path)
        assert route is not None  # _refuse answered 404 otherwise
        gauge = WEBSOCKET_CONNECTIONS.labels(route.kind)
        gauge.inc()
        try:
            await self._serve(socket, route)
        except DATABASE_OUTAGES as error:
            # The database is away or swamped: the client reconnects later and starts again
            # from a fresh snapshot.
            log.warning("closing a %s socket: %r", route.kind, error)
            await socket.close(CLOSE_TRY_AGAIN_LATER, "Try again in a moment.")
        except ConnectionClosed:
            pass
        finally:
            gauge.dec()

    async def _serve(self, socket: ServerConnection, route: Route) -> None:
        assert self.owned is not None and self.fanout is not None
        if route.kind == SLOTS:
            watch = await resolve_slot_watch(
                self.owned, route.key, route.arg("from"), route.arg("to")
            )
            if isinstance(watch, Refusal):
                await socket.close(watch.code, watch.reason)
                return
            await self.fanout.watch(socket, watch)
        elif route.kind == PROVIDER:
            await self._serve_provider(socket)
        elif route.kind == WAITLIST:
            await self._serve_waitlist(socket, route)

    async def _serve_provider(self, socket: ServerConnection) -> None:
        assert self.owned is not None and socket.request is not None
        user_id = await signed_in_user_id(self.owned, self.config, socket.request)
        if user_id is None:
            await socket.close(CLOSE_UNAUTHENTICATED, "Please sign in first.")
            return
        async with self.owned.pool.acquire(timeout=self.owned.acquire_timeout) as conn:
            provider = await select_provider_by_user(conn, user_id)
        if provider is None:
            await socket.close(CLOSE_NOT_PROVIDER, "Become a provider first.")
            return
        session_id = session_id_of(self.config, socket.request)
        assert session_id is not None  # the user was found through it
        transport = TierTransport(socket, PROVIDER)
        revoked = await until_closed(
            socket,
            relay_provider_alerts(
                self.owned,
                transport,
                provider_id=provider.id,
                user_id=user_id,
                session_id=session_id,
                session_check_seconds=self.config.session_check_seconds,
            ),
        )
        if revoked:
            await socket.close(CLOSE_UNAUTHENTICATED, "Signed out; please sign in again.")

    async def _serve_waitlist(self, socket: ServerConnection, route: Route) -> None:
        assert self.owned is not None and socket.request is not None
        key = route.arg("key")
        user_id = None
        # The signed-in customer only from our own pages (no cross-site reads).
        if key is None and is_own_origin(socket.request, self.config):
            user_id = await signed_in_user_id(self.owned, self.config, socket.request)
        await until_closed(
            socket,
            watch_waitlist_entry(
                self.owned, TierTransport(socket, WAITLIST), route.key, key, user_id
            ),
        )


async def until_closed(socket: ServerConnection, flow: Awaitable[Any]) -> Any:
    """Run `flow` until it ends or the client goes (then it is cancelled, and None returned).

    `websockets` does not cancel a handler when its connection closes, as Hypercorn does."""
    flowing = asyncio.ensure_future(flow)
    closing = asyncio.ensure_future(socket.wait_closed())
    try:
        await asyncio.wait((flowing, closing), return_when=asyncio.FIRST_COMPLETED)
    finally:
        closing.cancel()
        if not flowing.done():
            flowing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flowing
    return flowing.result() if not flowing.cancelled() else None


def _peer(socket: ServerConnection) -> str:
    address = socket.remote_address
    return str(address[0]) if address else ""


async def serve_until(config: Config, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the tier on host:port until `stop` is set (`appointly sockets`)."""
    tier = SocketTier(config)
    await tier.start(host, port)
    log.info("serving Appointly's sockets on %s:%s", host, tier.port)
    try:
        await stop.wait()
    finally:
        await tier.stop()
