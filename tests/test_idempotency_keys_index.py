"""Deleting a slot cascades to idempotency_keys: that lookup must use an index, not a scan of
every stored answer while the service's lock is held (a change of hours deletes hundreds)."""

from __future__ import annotations

import asyncpg


async def test_a_slot_s_idempotency_records_are_found_by_index(db: asyncpg.Connection) -> None:
    async with db.transaction():
        # With sequential scans priced out, the planner shows whether any index can serve.
        await db.execute("SET LOCAL enable_seqscan = off")
        rows = await db.fetch(
            """
            EXPLAIN
            DELETE FROM ONLY idempotency_keys
             WHERE appointment_id = '00000000-0000-0000-0000-000000000000'
            """
        )
    plan = "\n".join(row[0] for row in rows)
    assert "idempotency_keys_appointment_id_idx" in plan, plan
