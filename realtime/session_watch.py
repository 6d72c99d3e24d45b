"""Signed-in sockets outlive nothing: a socket whose session is revoked (logout, password change
or reset, Google taking over an unverified account) closes with 4401.

The socket subscribes to its user's sessions topic (realtime.channels), then checks its own
session in the database: at once, on every notice, on every resync (a notice may have been
published while this process had no Redis) and every `interval` seconds anyway, which bounds the
delay even when a notice is lost or the session simply expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any
from uuid import UUID

import asyncpg

from realtime.broker import SubscriberOverflow, Subscription
from server.models.sessions import select_session_user_id

log = logging.getLogger(__name__)

# A database that cannot answer says nothing about the session: keep the socket, ask later.
_CHECK_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
CHECK_TIMEOUT = 5.0


async def session_is_live(pool: Any, session_id: UUID, user_id: UUID) -> bool:
    """Whether `session_id` still signs `user_id` in; True when the database cannot say."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), pool.acquire() as conn:
            return await select_session_user_id(conn, session_id) == user_id
    except _CHECK_FAILURES as error:
        log.warning("could not check a socket's session: %r", error)
        return True


async def until_session_revoked(
    notices: Subscription, pool: Any, session_id: UUID, user_id: UUID, *, interval: float
) -> None:
    """Return once the session no longer signs the user in. `notices` is the user's sessions
    topic, subscribed before this first check so that no revocation falls in between."""
    while await session_is_live(pool, session_id, user_id):
        await _notice_or_interval(notices, interval)


async def _notice_or_interval(notices: Subscription, interval: float) -> None:
    """Wait for a notice or a resync, or for `interval` seconds, whichever comes first."""
    try:
        async with asyncio.timeout(interval):
            await notices.next()
    except TimeoutError:
        pass
    except SubscriberOverflow:
        # A socket drains its notices at once, so this hardly happens; if it does, the
        # notices can no longer be trusted and the periodic check is what is left.
        await asyncio.sleep(interval)


async def relay_until_revoked(relay: Awaitable[None], revoked: Awaitable[None]) -> bool:
    """Run `relay` until it ends (False) or `revoked` comes first (True); the other stops.

    Either one's exception is raised; cancelling the caller cancels both.
    """
    relaying = asyncio.ensure_future(relay)
    watching = asyncio.ensure_future(revoked)
    try:
        done, _ = await asyncio.wait((relaying, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        relaying.cancel()
        watching.cancel()
        await asyncio.gather(relaying, watching, return_exceptions=True)
    for task in done:
        task.result()
    return watching in done
