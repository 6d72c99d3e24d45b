"""SQL for webhooks (a provider's endpoints) and webhook_deliveries (one row per event per
endpoint, the worker's queue and the provider's delivery log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

WEBHOOK_COLUMNS = "id, provider_id, url, events, secret_encrypted, created_at"


@dataclass(frozen=True)
class Webhook:
    id: UUID
    provider_id: UUID
    url: str
    events: list[str]
    secret_encrypted: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "url": self.url,
            "events": list(self.events),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery as the provider's list shows it."""

    id: UUID
    event: str
    status: str
    attempts: int
    response_status: int | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "response_status": self.response_status,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery, with what the worker needs to send it."""

    id: UUID
    event: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str
    secret_encrypted: str
    # The claiming run's token: only the run holding it may send the row or record its outcome.
    lease_token: UUID


async def insert_webhook(
    conn: asyncpg.Connection, provider_id: UUID, url: str, events: list[str], secret: str
) -> Webhook:
    row = await conn.fetchrow(
        f"""
        INSERT INTO webhooks (provider_id, url, events, secret_encrypted)
        VALUES ($1, $2, $3, $4)
        RETURNING {WEBHOOK_COLUMNS}
        """,
        provider_id,
        url,
        events,
        secret,
    )
    return Webhook(**dict(row))


async def select_webhooks(conn: asyncpg.Connection, provider_id: UUID) -> list[Webhook]:
    rows = await conn.fetch(
        f"""
        SELECT {WEBHOOK_COLUMNS}
          FROM webhooks
         WHERE provider_id = $1
         ORDER BY created_at, id
        """,
        provider_id,
    )
    return [Webhook(**dict(row)) for row in rows]


async def count_webhooks(conn: asyncpg.Connection, provider_id: UUID) -> int:
    found: int = await conn.fetchval(
        "SELECT count(*) FROM webhooks WHERE provider_id = $1", provider_id
    )
    return found


async def delete_webhook(conn: asyncpg.Connection, provider_id: UUID, webhook_id: UUID) -> bool:
    deleted: UUID | None = await conn.fetchval(
        """
        DELETE FROM webhooks
         WHERE id = $1
           AND provider_id = $2
        RETURNING id
        """,
        webhook_id,
        provider_id,
    )
    return deleted is not None


async def select_recent_deliveries(
    conn: asyncpg.Connection, provider_id: UUID, webhook_id: UUID, limit: int
) -> list[DeliveryRecord] | None:
    """The webhook's last `limit` deliveries, newest first; None when it is not the
    provider's."""
    owned: UUID | None = await conn.fetchval(
        "SELECT id FROM webhooks WHERE id = $1 AND provider_id = $2", webhook_id, provider_id
    )
    if owned is None:
        return None
    rows = await conn.fetch(
        """
        SELECT id, event, status, attempts, response_status, created_at
          FROM webhook_deliveries
         WHERE webhook_id = $1
         ORDER BY created_at DESC, id DESC
         LIMIT $2
        """,
        webhook_id,
        limit,
    )
    return [DeliveryRecord(**dict(row)) for row in rows]


async def insert_deliveries(
    conn: asyncpg.Connection, provider_id: UUID, event: str, payload: dict[str, Any]
) -> int:
    """One pending delivery of `event` for each of the provider's webhooks subscribed to it,
    in the caller's transaction; how many."""
    rows = await conn.fetch(
        """
        INSERT INTO webhook_deliveries (webhook_id, event, payload, created_at, next_attempt_at)
        SELECT id, $2, $3, clock_timestamp(), clock_timestamp()
          FROM webhooks
         WHERE provider_id = $1
           AND $2 = ANY (events)
        RETURNING id
        """,
        provider_id,
        event,
        payload,
    )
    return len(rows)


async def claim_due_deliveries(
    conn: asyncpg.Connection, now: datetime, *, token: UUID, lease: timedelta, limit: int
) -> list[DueDelivery]:
    """Take a lease on up to `limit` due deliveries nobody else holds, oldest first (the
    outbox's claim: FOR UPDATE SKIP LOCKED, a lease and this run's token)."""
    rows = await conn.fetch(
        """
        UPDATE webhook_deliveries AS d
           SET locked_until = $2,
               lease_token = $4,
               attempts = d.attempts + 1
          FROM (SELECT id
                  FROM webhook_deliveries
                 WHERE status = 'pending'
                   AND next_attempt_at <= $1
                   AND (locked_until IS NULL OR locked_until <= $1)
                 ORDER BY next_attempt_at
                 LIMIT $3
                   FOR UPDATE SKIP LOCKED) AS due,
               webhooks AS w
         WHERE d.id = due.id
           AND w.id = d.webhook_id
        RETURNING d.id, d.event, d.payload, d.attempts, d.created_at, w.url,
                  w.secret_encrypted, d.lease_token
        """,
        now,
        now + lease,
        limit,
        token,
    )
    return [DueDelivery(**dict(row)) for row in rows]


async def extend_delivery_lease(
    conn: asyncpg.Connection, delivery: DueDelivery, now: datetime, lease: timedelta
) -> bool:
    """Renew this run's lease right before sending; False when the row is no longer ours."""
    renewed: UUID | None = await conn.fetchval(
        """
        UPDATE webhook_deliveries
           SET locked_until = $3
         WHERE id = $1
           AND lease_token = $2
           AND status = 'pending'
        RETURNING id
        """,
        delivery.id,
        delivery.lease_token,
        now + lease,
    )
    return renewed is not None


async def record_attempt(
    conn: asyncpg.Connection,
    delivery: DueDelivery,
    *,
    status: str,
    response_status: int | None,
    error: str | None,
    next_attempt_at: datetime,
    now: datetime,
) -> None:
    """The outcome of one attempt (only while the lease is still this run's): `delivered`,
    `failed` for good, or `pending` again from `next_attempt_at`."""
    await conn.execute(
        """
        UPDATE webhook_deliveries
           SET status = $3,
               response_status = $4,
               last_error = $5,
               next_attempt_at = $6,
               delivered_at = CASE WHEN $3 = 'delivered' THEN $7::timestamptz END,
               locked_until = NULL,
               lease_token = NULL
         WHERE id = $1
           AND lease_token = $2
           AND status = 'pending'
        """,
        delivery.id,
        delivery.lease_token,
        status,
        response_status,
        None if error is None else error[:2000],
        next_attempt_at,
        now,
    )


async def delete_finished_deliveries(conn: asyncpg.Connection, older_than: datetime) -> int:
    """Forget delivered or failed deliveries created before `older_than` (their payloads hold
    customers' details); how many."""
    deleted: int = await conn.fetchval(
        """
        WITH deleted AS (
            DELETE FROM webhook_deliveries
             WHERE status IN ('delivered', 'failed')
               AND created_at < $1
            RETURNING 1
        )
        SELECT count(*) FROM deleted
        """,
        older_than,
    )
    return deleted
