"""Queue mode (the day's earliest free slot) while the service's slots are being regenerated.

A regeneration deletes the free rows and inserts new ones in one transaction: the old rows are
locked and the new ones invisible until it commits, so a claim that skips locked rows finds
nothing. It must wait for the regeneration and book a new row, not answer `day_full`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from server.domain.slots import horizon_end, local_today
from server.models import services, slots
from server.usecases.services import fill_slots
from tests.conftest import BecomeProvider
from tests.support.booking import GUEST, create_service, tomorrow


async def waiting_on_a_lock(db_pool: Any) -> bool:
    async with db_pool.acquire() as conn:
        waiting: int = await conn.fetchval(
            """
            SELECT count(*)
              FROM pg_stat_activity
             WHERE datname = current_database()
               AND wait_event_type = 'Lock'
            """
        )
    return waiting > 0


async def until_blocked_or_done(task: asyncio.Task[httpx.Response], db_pool: Any) -> None:
    """Until the request waits on a lock, or has answered without waiting."""
    async with asyncio.timeout(10):
        while not task.done() and not await waiting_on_a_lock(db_pool):
            await asyncio.sleep(0.02)


async def test_queue_mode_during_a_regeneration_waits_and_books_instead_of_day_full(
    client: httpx.AsyncClient,
    become_provider: BecomeProvider,
    guest: httpx.AsyncClient,
    db: asyncpg.Connection,
    db_pool: Any,
) -> None:
    await become_provider()
    service = await create_service(client)
    service_id = UUID(service["id"])
    now = datetime.now(UTC)

    regeneration = db.transaction()
    await regeneration.start()
    try:
        locked = await services.lock_service(db, service_id)
        assert locked is not None
        removed = await slots.delete_future_free_slots(db, service_id, now)
        assert removed
        today = local_today(now, locked.provider.zone)
        await fill_slots(db, locked, today, horizon_end(today, 30), now - timedelta(seconds=1))

        body = {**GUEST, "service_id": service["id"], "date": tomorrow().isoformat()}
        booking = asyncio.create_task(guest.post("/api/bookings", json=body))
        await until_blocked_or_done(booking, db_pool)
    finally:
        await regeneration.commit()
    response = await booking

    assert response.status_code == 201, response.text
    appointment = response.json()["appointment"]
    assert appointment["token"] == 1
    assert UUID(appointment["id"]) not in {slot.id for slot in removed}
