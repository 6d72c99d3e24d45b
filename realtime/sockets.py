"""The WebSocket routes served by Hypercorn: live slots of a service, and live alerts for a
signed-in provider.

The flows themselves (realtime.flows) are shared with the socket tier (realtime.tier), which
serves the same routes with one encoded frame per topic for many sockets; these routes keep
deployments without the tier working, each socket reading its own bounded queue.
"""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, Response, current_app, websocket

from realtime.flows import Refusal, relay_provider_alerts, relay_slots, resolve_slot_watch
from realtime.process import Realtime, open_realtime
from realtime.transport import (
    CLOSE_BAD_REQUEST,
    CLOSE_NOT_FOUND,
    CLOSE_NOT_PROVIDER,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    SEND_TIMEOUT,
)
from server.auth.session_user import optional_user, session_user
from server.edge.client_limits import refuse_socket_floods
from server.infra.db import DATABASE_OUTAGES
from server.infra.socket_metrics import count_frame, counted_socket
from server.infra.state import app_state, config, db, release_db
from server.models.providers import select_provider_by_user

__all__ = [
    "CLOSE_BAD_REQUEST",
    "CLOSE_NOT_FOUND",
    "CLOSE_NOT_PROVIDER",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNAUTHENTICATED",
    "SEND_TIMEOUT",
    "QuartTransport",
    "Realtime",
    "realtime",
]

log = logging.getLogger(__name__)

blueprint = Blueprint("realtime", __name__)
# Every socket route here: an address opening too many connections is refused before the handshake.
blueprint.before_websocket(refuse_socket_floods)

EXTENSION_KEY = "appointly.realtime"


class QuartTransport:
    """The current Quart WebSocket, as the shared flows use it."""

    async def send(self, text: str) -> None:
        async with asyncio.timeout(SEND_TIMEOUT):
            await websocket.send(text)
        count_frame()

    async def close(self, code: int, reason: str) -> None:
        await websocket.close(code, reason)


def realtime() -> Realtime:
    owned: Realtime = current_app.extensions[EXTENSION_KEY]
    return owned


async def start_realtime() -> None:
    """Open real time's pool and start this process's one Redis subscription (after Redis is
    open)."""
    state = app_state()
    # The broker listens on REDIS_PUBSUB_URL's Redis (maybe a cluster node) when it is set.
    redis = state.pubsub or state.require_redis()
    current_app.extensions[EXTENSION_KEY] = await open_realtime(state.config, redis)


async def stop_realtime() -> None:
    owned: Realtime | None = current_app.extensions.pop(EXTENSION_KEY, None)
    if owned is not None:
        await owned.close()


@blueprint.websocket("/ws/services/<service_id>/slots")
@counted_socket("slots")
async def ws_service_slots(service_id: str) -> None:
    """A snapshot of the service's slots in `from`..`to`, then each change as it commits."""
    await websocket.accept()
    transport = QuartTransport()
    try:
        owned = realtime()
        watch = await resolve_slot_watch(
            owned, service_id, websocket.args.get("from"), websocket.args.get("to")
        )
        if isinstance(watch, Refusal):
            await transport.close(watch.code, watch.reason)
            return
        await relay_slots(owned, transport, watch)
    except DATABASE_OUTAGES as error:
        # The database is away or swamped (or the client stopped reading): the client
        # reconnects later and starts again from a fresh snapshot.
        log.warning("closing a slots socket: %r", error)
        await transport.close(CLOSE_TRY_AGAIN_LATER, "Try again in a moment.")


@blueprint.websocket("/ws/provider")
@counted_socket("provider")
async def ws_provider() -> Response | None:
    """Every change to the signed-in provider's appointments, from any server process;
    closed with 4401 once the session it was opened with is revoked."""
    origin = websocket.headers.get("Origin")
    if origin is not None and origin != config().base_origin:
        # Refused before the handshake completes: a foreign page must not ride our cookie.
        return Response("This socket is only for Appointly's own pages.", status=403)
    user = await optional_user()
    provider = None if user is None else await select_provider_by_user(await db(), user.id)
    await release_db()
    await websocket.accept()
    transport = QuartTransport()
    if user is None:
        await transport.close(CLOSE_UNAUTHENTICATED, "Please sign in first.")
        return None
    if provider is None:
        await transport.close(CLOSE_NOT_PROVIDER, "Become a provider first.")
        return None
    session_id = session_user().session_id
    assert session_id is not None  # the user was found through it
    revoked = await relay_provider_alerts(
        realtime(),
        transport,
        provider_id=provider.id,
        user_id=user.id,
        session_id=session_id,
        session_check_seconds=config().session_check_seconds,
    )
    if revoked:
        await transport.close(CLOSE_UNAUTHENTICATED, "Signed out; please sign in again.")
    return None
