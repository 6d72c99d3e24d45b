"""arq worker settings: `appointly worker` runs these."""

from __future__ import annotations

from typing import Any, ClassVar

from arq import cron, func

from jobs.caldav import push_caldav, sync_caldav
from jobs.context import JobContext, close_context, open_context
from jobs.job_metrics import count_every_job
from jobs.notifications import deliver_outbox
from jobs.periodic import (
    expire_holds,
    expire_waitlist_offers,
    process_refunds,
    purge_expired,
    refresh_open_days,
    send_reminders,
    sync_busy_calendars,
    top_up_slots,
)
from jobs.webhooks import deliver_webhooks
from server.infra.config import Config
from server.infra.job_queue import QUEUE_NAME, job_queue
from server.infra.redis_clients import worker_redis_settings


async def startup(ctx: JobContext) -> None:
    await open_context(ctx, ctx.get("appointly_config"))


async def shutdown(ctx: JobContext) -> None:
    await close_context(ctx)


# Seconds a worker's Redis read may take before it counts as lost.
WORKER_REDIS_TIMEOUT = 5.0


def worker_settings(config: Config) -> type:
    """WorkerSettings bound to `config` (its REDIS_URL must already be resolved)."""
    if config.redis_url is None:
        raise ValueError("resolve REDIS_URL before building the worker settings")
    redis_settings_ = worker_redis_settings(config.redis_url, config)
    # arq's settings cannot set read timeouts or keepalive, so the worker gets its pool made
    # like the app's: a Redis that stops answering fails a poll instead of hanging the worker.
    # Its reads get longer than a request's: a poll slower than a second on a loaded machine
    # is no outage, and a timed-out poll ends arq's loop (the command then starts it again).
    worker_redis = config.with_changes(
        redis_timeout=max(WORKER_REDIS_TIMEOUT, config.redis_timeout)
    )
    redis_pool_ = job_queue(config.redis_url, worker_redis)

    class WorkerSettings:
        functions: ClassVar[list[Any]] = [
            top_up_slots,
            send_reminders,
            expire_holds,
            process_refunds,
            purge_expired,
            expire_waitlist_offers,
            sync_busy_calendars,
            refresh_open_days,
            # Nudged after every commit that queues mail: keep no result per nudge.
            func(deliver_outbox, keep_result=0),
            func(deliver_webhooks, keep_result=0),
            func(push_caldav, keep_result=0),
            func(sync_caldav, keep_result=0),
        ]
        cron_jobs: ClassVar[list[Any]] = [
            # Hourly: a provider's new last day begins at their midnight, in any zone.
            cron(top_up_slots, minute={15}, run_at_startup=True),
            cron(expire_holds, second={0, 30}),
            # Offers last minutes: a few seconds late is fine; a claim never waits on this.
            cron(expire_waitlist_offers, second=set(range(2, 60, 5))),
            # The sweep behind every refund nudge; the backoff decides what is due.
            cron(process_refunds, second={20}),
            cron(send_reminders, second={5}),
            # Each calendar is fetched every BUSY_SYNC_MINUTES; this finds the ones due.
            cron(sync_busy_calendars, second={25}, run_at_startup=True),
            cron(purge_expired, minute={40}, second={10}),
            # The sweep behind every outbox nudge; the backoff decides what is due.
            cron(deliver_outbox, second=set(range(0, 60, 5)), run_at_startup=True),
            # The sweep behind every webhook nudge; retries wait out their back-off.
            cron(deliver_webhooks, second=set(range(1, 60, 5)), run_at_startup=True),
            # The CalDAV outbox: a change reaches the calendar within seconds, or after an
            # outage at the back-off's next try. Its own events are read each minute.
            cron(push_caldav, second=set(range(3, 60, 5)), run_at_startup=True),
            cron(sync_caldav, second={45}),
            # A fully booked day leaves its services' open days within a minute (sql/0024).
            cron(refresh_open_days, second={50}),
        ]
        redis_settings = redis_settings_
        redis_pool = redis_pool_
        on_startup = startup
        on_shutdown = shutdown
        ctx: ClassVar[dict[str, Any]] = {"appointly_config": config}
        queue_name = QUEUE_NAME
        max_jobs = 20

    return count_every_job(WorkerSettings)
