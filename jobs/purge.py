"""Forgetting secrets we no longer need: run hourly by the worker, and by
`appointly run-job purge_expired`.

An idempotency record keeps a booking's answer, manage URL included, only for the 24 hours the
contract promises replays; a sent e-mail's reset, verification or manage link lives on in the
recipient's mailbox, not in our outbox. Both statements are idempotent, so two workers running
the job at once do no harm.
"""

from __future__ import annotations

import logging

from jobs.context import JobContext
from server.models.idempotency import delete_expired
from server.notifications.outbox import clear_secret_bodies

log = logging.getLogger(__name__)


async def purge_expired(ctx: JobContext) -> int:
    """Delete idempotency records older than 24 hours and clear the bodies of sent messages
    that carried a secret link; returns how many rows were purged."""
    async with ctx["pool"].acquire() as conn:
        keys = await delete_expired(conn)
        bodies = await clear_secret_bodies(conn)
    if keys or bodies:
        log.info("purged %d idempotency records and %d message bodies", keys, bodies)
    return keys + bodies
