"""Topping up slots so every active service always has its horizon of them: its own
`horizon_days`, or SLOT_HORIZON_DAYS when it has none.

Safe to run in two workers at once: each service is topped up in its own short transaction
holding the service row's lock, taken with SKIP LOCKED so a worker passes over a service
another worker is busy with, and inserts skip rows that already exist.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from realtime.cluster_publisher import Publisher
from server.domain.slots import horizon_end, local_today
from server.infra.config import Config
from server.models import services
from server.usecases.effects import Effects, run_effects
from server.usecases.services import fill_slots

log = logging.getLogger(__name__)

# How many services one top-up fills at once (each on its own pooled connection).
TOP_UP_CONCURRENCY = 4


async def top_up_all_services(
    pool: Any, redis: Publisher | None, config: Config, now: datetime | None = None
) -> int:
    """Extend every active service's slots to its horizon; returns how many slots were added.

    `now` defaults to the clock; tests pass a later moment to act as if days had passed.
    """
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn:
        due = await services.select_services_due_top_up(conn, now, config.slot_horizon_days)
    # A few services at a time: each is a dozen short round trips and one COPY, so one at a
    # time leaves the database waiting on us most of the time.
    gate = asyncio.Semaphore(TOP_UP_CONCURRENCY)

    async def top_up_one(service_id: UUID) -> int:
        async with gate:
            added, effects = await top_up_service(pool, service_id, now, config.slot_horizon_days)
            await run_effects(effects, redis, None)
            return added

    created = sum(await asyncio.gather(*(top_up_one(service_id) for service_id in due)))
    if created:
        log.info("topped up %d slots across %d services", created, len(due))
    return created


async def top_up_service(
    pool: Any, service_id: UUID, now: datetime, horizon_days: int
) -> tuple[int, Effects]:
    """Generate the days after the service's last generated day, up to its horizon
    (`horizon_days` when it has none of its own).

    Returns how many slots were added, and the effects to run after the commit (watchers see
    the new slots).
    """
    async with pool.acquire() as conn, conn.transaction():
        service = await services.lock_service(conn, service_id, skip_locked=True)
        effects = Effects()
        if service is None or not service.is_active:
            return 0, effects
        today = local_today(now, service.provider.zone)
        last_day = horizon_end(today, service.horizon(horizon_days))
        generated_until = service.slots_generated_until
        first_day = today
        if generated_until is not None:
            first_day = max(today, generated_until + timedelta(days=1))
        added = await fill_slots(conn, service, first_day, last_day, now)
        effects.slots_changed(service.id, service.provider.zone, changed=added)
        return len(added), effects
