"""Forgetting secrets we no longer need: run hourly by the worker, and by
`appointly run-job purge_expired`.

An idempotency record keeps a booking's answer, manage URL included, only for the 24 hours the
contract promises replays; a sent e-mail's reset, verification or manage link lives on in the
recipient's mailbox, not in our outbox; a finished webhook delivery (its payload names the
customer) is kept for WEBHOOK_DELIVERY_DAYS, as the provider's delivery log. The statements
are idempotent, so two workers running the job at once do no harm.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from jobs.context import JobContext
from server.models.idempotency import delete_expired
from server.models.webhooks import delete_finished_deliveries
from server.notifications.outbox import clear_secret_bodies

log = logging.getLogger(__name__)

WEBHOOK_DELIVERY_DAYS = 30


async def purge_expired(ctx: JobContext) -> int:
    """Delete idempotency records older than 24 hours, clear the bodies of sent messages that
    carried a secret link and delete finished webhook deliveries older than
    WEBHOOK_DELIVERY_DAYS; returns how many rows were purged."""
    async with ctx["pool"].acquire() as conn:
        keys = await delete_expired(conn)
        bodies = await clear_secret_bodies(conn)
        deliveries = await delete_finished_deliveries(
            conn, datetime.now().astimezone() - timedelta(days=WEBHOOK_DELIVERY_DAYS)
        )
    if keys or bodies or deliveries:
        log.info(
            "purged %d idempotency records, %d message bodies and %d webhook deliveries",
            keys,
            bodies,
            deliveries,
        )
    return keys + bodies + deliveries
