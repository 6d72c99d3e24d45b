"""The days on which each service may have a free slot (`services.open_days`, sql/0024): what
lets `available_on` pass over a service without probing its slots. Days are added by a trigger
as free slots are inserted; this module drops the ones whose free times are all gone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg


async def select_services_booked_since(conn: asyncpg.Connection, since: datetime) -> list[UUID]:
    """The services with a booking made at or after `since`."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT service_id
          FROM appointments
         WHERE booked
           AND booked_at >= $1
        """,
        since,
    )
    return [row["service_id"] for row in rows]


async def refresh_open_days(conn: asyncpg.Connection, service_ids: Sequence[UUID]) -> int:
    """Recount the services' open days (days with a free slot row, from the earliest on which a slot
    can still start: sql/0025's earliest_open_day); returns how many services changed. The rows are
    locked first, as every writer of a service's slots locks them, so slots being inserted meanwhile
    are committed before the recount reads."""
    async with conn.transaction():
        await conn.execute(
            "SELECT 1 FROM services WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            list(service_ids),
        )
        changed: int = await conn.fetchval(
            """
            WITH counted AS (
                SELECT s.id,
                       ARRAY(SELECT DISTINCT a.slot_date
                               FROM appointments AS a
                              WHERE a.service_id = s.id
                                AND NOT a.booked
                                AND a.occupies_slot
                                AND a.slot_date >= earliest_open_day()
                              ORDER BY a.slot_date) AS days
                  FROM services AS s
                 WHERE s.id = ANY($1::uuid[])
            ), updated AS (
                UPDATE services AS s
                   SET open_days = counted.days
                  FROM counted
                 WHERE s.id = counted.id
                   AND s.open_days IS DISTINCT FROM counted.days
                RETURNING 1
            )
            SELECT count(*) FROM updated
            """,
            list(service_ids),
        )
    return changed
