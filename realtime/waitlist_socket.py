"""/ws/waitlist/{id}?key=: one customer's place on a waitlist, live (realtime.waitlist_watch),
served by Hypercorn."""

from __future__ import annotations

import logging
from uuid import UUID

from quart import Blueprint, websocket

from realtime.sockets import QuartTransport, realtime
from realtime.transport import CLOSE_TRY_AGAIN_LATER
from realtime.waitlist_watch import watch_waitlist_entry
from server.auth.session_user import optional_user
from server.edge.client_limits import refuse_socket_floods
from server.infra.db import DATABASE_OUTAGES
from server.infra.socket_metrics import counted_socket
from server.infra.state import config, release_db

log = logging.getLogger(__name__)

blueprint = Blueprint("waitlist_realtime", __name__)
blueprint.before_websocket(refuse_socket_floods)


@blueprint.websocket("/ws/waitlist/<entry_id>")
@counted_socket("waitlist")
async def ws_waitlist(entry_id: str) -> None:
    """The entry on connect and on every change, for the holder of its key (or the signed-in
    customer who joined, from Appointly's own pages); anyone else: closed with 4404."""
    key = websocket.args.get("key")
    user_id = await _signed_in_user_id() if key is None else None
    await websocket.accept()
    transport = QuartTransport()
    try:
        await watch_waitlist_entry(realtime(), transport, entry_id, key, user_id)
    except DATABASE_OUTAGES as error:
        log.warning("closing a waitlist socket: %r", error)
        await transport.close(CLOSE_TRY_AGAIN_LATER, "Try again in a moment.")


async def _signed_in_user_id() -> UUID | None:
    """The session's user, only for a handshake from our own origin (no cross-site reads)."""
    origin = websocket.headers.get("Origin")
    if origin is not None and origin != config().base_origin:
        return None
    user = await optional_user()
    await release_db()
    return None if user is None else user.id
