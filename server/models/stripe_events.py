"""The stripe_events table: every webhook event id we have acted on, so redeliveries do nothing."""

from __future__ import annotations

import asyncpg


async def insert_stripe_event(conn: asyncpg.Connection, event_id: str, event_type: str) -> bool:
    """Record the event; False when it was recorded before (a redelivery).

    Run it in the same transaction as the event's effect: if the effect rolls back, so does the
    record, and Stripe's next delivery gets another go.
    """
    recorded_id: str | None = await conn.fetchval(
        """
        INSERT INTO stripe_events (id, type)
        VALUES ($1, $2)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
        """,
        event_id,
        event_type,
    )
    return recorded_id is not None
