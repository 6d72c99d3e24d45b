"""The one service the landing page shows live in its hero, as a real booking widget."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from server.models.services import SERVICE_COLUMNS, Service, service_from_row

# The demo clinic's first service (server/usecases/demo.py): a seeded instance shows it first,
# because its weekday hours and prices read well. tests/test_landing.py keeps the two in step.
DEMO_PROVIDER_SLUG = "demo-harley-street-physio"
DEMO_SERVICE_NAME = "Physiotherapy assessment"
# A service is worth showing off only if a visitor can see free times without paging ahead.
FREE_SLOTS_WITHIN = timedelta(days=7)


async def select_showcase_service(conn: asyncpg.Connection, now: datetime) -> Service | None:
    """The demo physiotherapy assessment if it is seeded and active, else the newest active
    service with a free slot in the next week, else None (the page shows a fallback)."""
    return await _select_demo_service(conn) or await _select_newest_open_service(conn, now)


async def _select_demo_service(conn: asyncpg.Connection) -> Service | None:
    row = await conn.fetchrow(
        f"""
        SELECT {SERVICE_COLUMNS}
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE p.slug = $1
           AND s.name = $2
           AND s.is_active
        """,
        DEMO_PROVIDER_SLUG,
        DEMO_SERVICE_NAME,
    )
    return None if row is None else service_from_row(row)


async def _select_newest_open_service(conn: asyncpg.Connection, now: datetime) -> Service | None:
    # Newest first along services_active_newest_idx; the EXISTS probe stops at the first free
    # slot, so this reads a handful of rows however many services there are.
    row = await conn.fetchrow(
        f"""
        SELECT {SERVICE_COLUMNS}
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE s.is_active
           AND EXISTS (SELECT 1
                         FROM appointments AS a
                        WHERE a.service_id = s.id
                          AND a.slot_date BETWEEN $3 AND $4
                          AND NOT a.booked
                          AND a.occupies_slot
                          AND a.starts_at > $1
                          AND a.starts_at < $2)
         ORDER BY s.created_at DESC, s.id DESC
         LIMIT 1
        """,
        now,
        now + FREE_SLOTS_WITHIN,
        # slot_date is the provider's local day, at most a day either side of UTC's; the
        # bounds let the probe use appointments_service_date_idx.
        (now - timedelta(days=1)).date(),
        (now + FREE_SLOTS_WITHIN + timedelta(days=1)).date(),
    )
    return None if row is None else service_from_row(row)
