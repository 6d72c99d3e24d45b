"""The outbox's backlog, as /metrics reports it: what waits, by kind, and for how long."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class OutboxBacklog:
    pending_by_kind: dict[str, int]
    oldest_due_age_seconds: float


async def select_outbox_backlog(conn: asyncpg.Connection) -> OutboxBacklog:
    rows = await conn.fetch(
        """
        SELECT kind,
               count(*)                                              AS pending,
               max(now() - next_attempt_at) FILTER (WHERE next_attempt_at <= now()) AS waited
          FROM outbox
         WHERE status = 'pending'
           AND NOT held
         GROUP BY kind
        """
    )
    waited = [row["waited"].total_seconds() for row in rows if row["waited"] is not None]
    return OutboxBacklog(
        pending_by_kind={row["kind"]: row["pending"] for row in rows},
        oldest_due_age_seconds=max(waited, default=0.0),
    )
