"""The webhook delivery job: nudged after each commit that may have queued a delivery, and
swept by cron every few seconds for retries that came due and anything a dead worker left."""

from __future__ import annotations

from jobs.context import JobContext
from server.webhooks.delivery import deliver_webhooks_due


async def deliver_webhooks(ctx: JobContext) -> int:
    """POST every due webhook delivery; returns how many were delivered."""
    return await deliver_webhooks_due(ctx["pool"], ctx["config"])
