"""The refunds table: one refund per appointment, from request to Stripe's answer.

A request is inserted in the transaction that ends a paid booking; the worker claims due
requests (SKIP LOCKED, with a lease so a crashed attempt is retried), calls Stripe outside any
transaction, and records the outcome here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Refund:
    id: UUID
    appointment_id: UUID
    payment_intent_id: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    stripe_refund_id: str | None
    # The Stripe idempotency key of the next attempt; None: the first one (see sql/0011).
    stripe_idempotency_key: str | None = None


REFUND_COLUMNS = """
    id, appointment_id, payment_intent_id, status, attempts, last_error, next_attempt_at,
    stripe_refund_id, stripe_idempotency_key
"""


async def insert_refund_request(
    conn: asyncpg.Connection, appointment_id: UUID, payment_intent_id: str
) -> bool:
    """Ask for the appointment's refund; False when one was asked for before."""
    inserted: UUID | None = await conn.fetchval(
        """
        INSERT INTO refunds (appointment_id, payment_intent_id)
        VALUES ($1, $2)
        ON CONFLICT (appointment_id) DO NOTHING
        RETURNING id
        """,
        appointment_id,
        payment_intent_id,
    )
    return inserted is not None


async def claim_due_refunds(
    conn: asyncpg.Connection, now: datetime, *, max_attempts: int, lease: timedelta, limit: int
) -> list[Refund]:
    """Take the refunds due for an attempt, counting the attempt now.

    Pushing `next_attempt_at` out by `lease` keeps other workers off a refund while its Stripe
    call is in flight; a worker that dies mid-call leaves it to be retried once the lease ends.
    """
    rows = await conn.fetch(
        f"""
        UPDATE refunds
           SET attempts = attempts + 1,
               next_attempt_at = $2::timestamptz + $3::interval,
               updated_at = clock_timestamp()
         WHERE id IN (SELECT id
                        FROM refunds
                       WHERE status IN ('requested', 'failed')
                         AND next_attempt_at <= $2
                         AND attempts < $4
                       ORDER BY next_attempt_at
                       LIMIT $1
                         FOR UPDATE SKIP LOCKED)
        RETURNING {REFUND_COLUMNS}
        """,
        limit,
        now,
        lease,
        max_attempts,
    )
    return [Refund(**dict(row)) for row in rows]


async def mark_refund_succeeded(
    conn: asyncpg.Connection, appointment_id: UUID, stripe_refund_id: str | None
) -> bool:
    """Record Stripe's refund; False when it was already recorded as succeeded."""
    updated: UUID | None = await conn.fetchval(
        """
        UPDATE refunds
           SET status = 'succeeded',
               stripe_refund_id = COALESCE($2, stripe_refund_id),
               next_attempt_at = NULL,
               last_error = NULL,
               updated_at = clock_timestamp()
         WHERE appointment_id = $1
           AND status <> 'succeeded'
        RETURNING id
        """,
        appointment_id,
        stripe_refund_id,
    )
    return updated is not None


async def insert_succeeded_refund(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    payment_intent_id: str,
    stripe_refund_id: str | None,
) -> None:
    """A refund made outside Appointly (the Stripe dashboard): remember it as done."""
    await conn.execute(
        """
        INSERT INTO refunds (appointment_id, payment_intent_id, status, next_attempt_at,
                             stripe_refund_id)
        VALUES ($1, $2, 'succeeded', NULL, $3)
        ON CONFLICT (appointment_id) DO NOTHING
        RETURNING id
        """,
        appointment_id,
        payment_intent_id,
        stripe_refund_id,
    )


async def mark_refund_failed(
    conn: asyncpg.Connection,
    refund_id: UUID,
    attempt: int,
    error: str,
    retry_at: datetime | None,
    *,
    next_idempotency_key: str | None = None,
) -> None:
    """Record failed attempt number `attempt`; `retry_at` None means we gave up and it stays
    failed. Nothing changes when a later attempt has claimed the refund since (its lease ran
    out): that attempt's outcome is the one to keep.

    `next_idempotency_key` replaces the key the next attempt sends (None keeps it).
    """
    await conn.execute(
        """
        UPDATE refunds
           SET status = 'failed',
               last_error = left($2, 1000),
               next_attempt_at = $3,
               stripe_idempotency_key = COALESCE($4, stripe_idempotency_key),
               updated_at = clock_timestamp()
         WHERE id = $1
           AND attempts = $5
           AND status <> 'succeeded'
        RETURNING id
        """,
        refund_id,
        error,
        retry_at,
        next_idempotency_key,
        attempt,
    )
