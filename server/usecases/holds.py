"""Holds: an unpaid online booking keeps its slot for HOLD_MINUTES, then the slot is freed.

The Checkout Session is closed at Stripe FIRST, outside any transaction, and only then is the
slot freed: a customer paying at the last second either finds the session expired, or Stripe
says the session is complete and the payment is recorded instead. While Stripe cannot be asked,
a hold stays until Stripe's own expiry of the session has passed (then nobody can pay on it).
A delayed payment that is processing keeps its hold until Stripe says how it ended.

Freeing goes through move_appointment (CANCELLED, actor "system"), so the history, the refill
of the day and the announcements are those of any cancellation. Two sweeps at once may both
ask Stripe about one hold; the row lock taken to free it lets only one of them do it.

The same sweep closes the sessions of unpaid bookings that a customer or provider ended
(cancel, reject): the move commits at once, and its session is expired here, retried every run
while Stripe is down; a payment that beat it is refunded.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import stripe
from redis.asyncio import Redis

from server.models import payments
from server.models.payments import ExpiredHold, OpenSession
from server.payments.checkout import (
    CheckoutUnavailable,
    ClosedSession,
    SessionState,
    close_session,
    session_expires_at,
)
from server.usecases.checkout_events import (
    AfterCommit,
    keep_processing_hold,
    record_payment,
    release_hold,
)

log = logging.getLogger(__name__)

# One sweep looks at most at this many holds (and as many ended sessions); the next run takes
# the rest.
SWEEP_LIMIT = 500
# Stripe keeps a session payable for at most a day; older ones need no closing.
LONGEST_SESSION = timedelta(hours=25)


async def free_expired_holds(
    pool: Any,
    redis: Redis | None,
    client: stripe.StripeClient | None,
    *,
    now: datetime,
    jobs: Redis | None = None,
) -> int:
    """Settle every hold that ran out by `now`; returns how many slots were freed."""
    async with pool.acquire() as conn:
        due = await payments.select_expired_holds(conn, now, limit=SWEEP_LIMIT)
    freed = 0
    for hold in due:
        freed += await _settle(pool, redis, jobs, client, hold, now)
    if freed:
        log.info("freed %d expired holds", freed)
    return freed


async def _settle(
    pool: Any,
    redis: Redis | None,
    jobs: Redis | None,
    client: stripe.StripeClient | None,
    hold: ExpiredHold,
    now: datetime,
) -> int:
    closed = await _close_at_stripe(client, hold, now)
    if closed is None:
        return 0  # the session may still be paid: keep the hold, ask again next run
    after = AfterCommit()
    async with pool.acquire() as conn, conn.transaction():
        if closed.state is SessionState.PAID:
            await record_payment(conn, hold.appointment_id, closed.payment_intent_id, after)
        elif closed.state is SessionState.PROCESSING:
            await keep_processing_hold(conn, hold.appointment_id, now=now)
        else:
            after.moved = await release_hold(conn, hold.appointment_id, now=now)
    await after.announce(redis, jobs)
    return 0 if after.moved is None else 1


async def _close_at_stripe(
    client: stripe.StripeClient | None, hold: ExpiredHold, now: datetime
) -> ClosedSession | None:
    """Where the hold's session stands once closed; None while Stripe cannot say."""
    if client is None or hold.session_id is None:
        # No session was ever handed to the customer (or Stripe is no longer configured).
        return ClosedSession(SessionState.CLOSED)
    try:
        return await close_session(client, hold.session_id)
    except CheckoutUnavailable as error:
        if not hold.processing and now >= session_expires_at(hold.booked_at):
            log.warning(
                "Stripe unavailable (%s), but session %s has expired at Stripe by now",
                error,
                hold.session_id,
            )
            return ClosedSession(SessionState.CLOSED)
        log.warning("could not close Checkout Session %s: %s", hold.session_id, error)
        return None


async def close_sessions_of_ended_bookings(
    pool: Any,
    redis: Redis | None,
    client: stripe.StripeClient | None,
    *,
    now: datetime,
    jobs: Redis | None = None,
) -> int:
    """Expire the Checkout Sessions of unpaid bookings that were cancelled or rejected, so they
    can no longer be paid; returns how many were closed."""
    if client is None:
        return 0
    async with pool.acquire() as conn:
        still_open = await payments.select_sessions_to_close(
            conn, now, since=now - LONGEST_SESSION, limit=SWEEP_LIMIT
        )
    closed = 0
    for session in still_open:
        closed += await _close_ended(pool, redis, jobs, client, session)
    return closed


async def _close_ended(
    pool: Any,
    redis: Redis | None,
    jobs: Redis | None,
    client: stripe.StripeClient,
    session: OpenSession,
) -> int:
    try:
        outcome = await close_session(client, session.session_id)
    except CheckoutUnavailable as error:
        log.warning("could not close Checkout Session %s: %s", session.session_id, error)
        return 0
    after = AfterCommit()
    async with pool.acquire() as conn, conn.transaction():
        if outcome.state is SessionState.PAID:  # paid before we closed it: refund
            await record_payment(conn, session.appointment_id, outcome.payment_intent_id, after)
        # A processing payment that succeeds later is refunded by its event.
        await payments.mark_checkout_closed(conn, session.appointment_id)
    await after.announce(redis, jobs)
    return 1
