"""The reminder job: queue the reminders due now, then have them delivered."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs.context import JobContext
from server.notifications.delivery import deliver_due
from server.notifications.outbox import nudge_delivery
from server.notifications.reminders import queue_due_reminders


async def queue_and_deliver_reminders(ctx: JobContext) -> int:
    """Queue every reminder due now; returns how many messages were queued.

    In the worker, delivery is handed to deliver_outbox; `appointly run-job send_reminders`
    has no job queue, so it delivers before it exits.
    """
    queued = await queue_due_reminders(ctx["pool"], ctx["config"], now=datetime.now(UTC))
    if queued:
        if "redis" in ctx:
            await nudge_delivery(ctx["redis"])
        else:
            await deliver_due(ctx["pool"], ctx["config"])
    return queued
