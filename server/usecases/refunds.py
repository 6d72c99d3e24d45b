"""Refunds: requested in the transaction that ends a paid booking, made by the worker after.

The request is a row in `refunds` (server.models.refunds), so it survives a lost nudge, a
Redis outage or a crashed worker: `process_refunds` claims due rows, calls Stripe outside any
transaction with the refund's idempotency key (a retry after a network error can never refund
twice; after an error answer, which Stripe would replay for 24 hours, the key is renewed), and
records the answer. A failed attempt is retried with exponential backoff until MAX_ATTEMPTS;
after that the refund stays `failed`, visible to the provider as the booking's refund_status.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import stripe

from server.domain.appointments import FREES_SLOT, PaymentStatus
from server.infra.job_queue import retry_delay
from server.infra.metrics import REFUNDS
from server.models import payments, refunds
from server.models.appointments import Appointment
from server.models.refunds import Refund
from server.payments.refunds import RefundOutcome, create_stripe_refund, next_idempotency_key

log = logging.getLogger(__name__)

# The worker job that makes due refunds; a move that requests one nudges it (Effects.nudge).
PROCESS_REFUNDS = "process_refunds"
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# Long enough for the SDK's own retries against a slow Stripe; a crashed attempt waits this long.
ATTEMPT_LEASE = timedelta(minutes=5)
BATCH_SIZE = 50


async def request_refund_if_paid(
    conn: asyncpg.Connection, before: Appointment, after: Appointment
) -> bool:
    """Record a refund request when a paid booking was just cancelled or rejected."""
    just_ended = after.status in FREES_SLOT and before.status not in FREES_SLOT
    if not just_ended or after.payment_status is not PaymentStatus.PAID:
        return False
    if after.stripe_payment_intent_id is None:
        log.error("paid booking %s has no payment intent to refund", after.id)
        return False
    return await refunds.insert_refund_request(conn, after.id, after.stripe_payment_intent_id)


async def record_refund_succeeded(
    conn: asyncpg.Connection, appointment_id: UUID, stripe_refund_id: str | None
) -> bool:
    """The refund and the booking's payment_status say so, in one transaction."""
    async with conn.transaction():
        changed = await refunds.mark_refund_succeeded(conn, appointment_id, stripe_refund_id)
        return await payments.mark_refunded(conn, appointment_id) or changed


async def record_refund_outcome(
    conn: asyncpg.Connection, refund: Refund, outcome: RefundOutcome, now: datetime
) -> None:
    if outcome.succeeded:
        await record_refund_succeeded(conn, refund.appointment_id, outcome.stripe_refund_id)
        REFUNDS.labels("succeeded").inc()
        log.info("refunded booking %s (%s)", refund.appointment_id, outcome.stripe_refund_id)
        return
    gave_up = refund.attempts >= MAX_ATTEMPTS
    delay = retry_delay(refund.attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)
    retry_at = None if gave_up else now + delay
    await refunds.mark_refund_failed(
        conn,
        refund.id,
        refund.attempts,
        outcome.error or "unknown error",
        retry_at,
        # Stripe replays its remembered answer to a key it has seen: after an error answer the
        # next attempt asks afresh; after a network error it repeats the same request.
        next_idempotency_key=next_idempotency_key(refund) if outcome.stripe_answered else None,
    )
    REFUNDS.labels("gave_up" if gave_up else "retry").inc()
    log.warning(
        "refund of booking %s failed (attempt %d%s): %s",
        refund.appointment_id,
        refund.attempts,
        ", giving up" if gave_up else "",
        outcome.error,
    )


async def process_due_refunds(
    pool: Any, client: stripe.StripeClient, *, now: datetime | None = None
) -> int:
    """Attempt every refund that is due, up to BATCH_SIZE; returns how many succeeded.

    Safe in two workers at once. Each refund is claimed (SKIP LOCKED) just before its own
    Stripe call, never as part of a batch: a lease then covers one call, so a slow Stripe cannot
    outlast it and hand the rest of a batch to a second worker while the first still means to
    make them. A late answer is recorded only for the attempt that is still current.
    """
    succeeded = 0
    for _ in range(BATCH_SIZE):
        moment = now or datetime.now(UTC)
        async with pool.acquire() as conn, conn.transaction():
            claimed = await refunds.claim_due_refunds(
                conn, moment, max_attempts=MAX_ATTEMPTS, lease=ATTEMPT_LEASE, limit=1
            )
        if not claimed:
            break
        refund = claimed[0]
        outcome = await create_stripe_refund(client, refund)
        async with pool.acquire() as conn:
            await record_refund_outcome(conn, refund, outcome, now or datetime.now(UTC))
        succeeded += outcome.succeeded
    return succeeded
