"""The outbox delivery job: nudged after each commit that queues a message, and swept by cron
every few seconds for anything a lost nudge, a retry back-off or a dead worker left behind."""

from __future__ import annotations

from jobs.context import JobContext
from server.notifications.delivery import deliver_due


async def deliver_outbox(ctx: JobContext) -> int:
    """Send every due outbox message; returns how many went out."""
    return await deliver_due(ctx["pool"], ctx["config"])
