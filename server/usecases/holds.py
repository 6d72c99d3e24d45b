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

Each sweep commits one hold at a time and yields what that commit must announce, so the job
(jobs/payments.py) runs each one's Effects at once rather than after the whole sweep.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import stripe

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
    keep_processing_hold,
    record_payment,
    release_hold,
)
from server.usecases.effects import Effects

log = logging.getLogger(__name__)

# One sweep looks at most at this many holds (and as many ended sessions); the next run takes
# the rest.
SWEEP_LIMIT = 500
# Stripe keeps a session payable for at most a day; older ones need no closing.
LONGEST_SESSION = timedelta(hours=25)


@dataclass(frozen=True)
class Settled:
    """One hold or session dealt with, committed; the caller runs `effects` next."""

    freed: bool = False
    effects: Effects = field(default_factory=Effects)


async def free_expired_holds(
    pool: Any, client: stripe.StripeClient | None, *, now: datetime
) -> AsyncIterator[Settled]:
    """Settle every hold that ran out by `now`, yielding each once its transaction committed
    (`freed` when its slot was given back)."""
    async with pool.acquire() as conn:
        due = await payments.select_expired_holds(conn, now, limit=SWEEP_LIMIT)
    for hold in due:
        yield await _settle(pool, client, hold, now)


async def _settle(
    pool: Any, client: stripe.StripeClient | None, hold: ExpiredHold, now: datetime
) -> Settled:
    closed = await _close_at_stripe(client, hold, now)
    if closed is None:
        return Settled()  # the session may still be paid: keep the hold, ask again next run
    effects = Effects()
    freed = False
    async with pool.acquire() as conn, conn.transaction():
        if closed.state is SessionState.PAID:
            await record_payment(conn, hold.appointment_id, closed.payment_intent_id, effects)
        elif closed.state is SessionState.PROCESSING:
            await keep_processing_hold(conn, hold.appointment_id, now=now)
        else:
            freed = await release_hold(conn, hold.appointment_id, effects, now=now)
    return Settled(freed, effects)


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
    pool: Any, client: stripe.StripeClient | None, *, now: datetime
) -> AsyncIterator[Settled]:
    """Expire the Checkout Sessions of unpaid bookings that were cancelled or rejected, so they
    can no longer be paid, yielding each once its transaction committed."""
    if client is None:
        return
    async with pool.acquire() as conn:
        still_open = await payments.select_sessions_to_close(
            conn, now, since=now - LONGEST_SESSION, limit=SWEEP_LIMIT
        )
    for session in still_open:
        settled = await _close_ended(pool, client, session)
        if settled is not None:
            yield settled


async def _close_ended(
    pool: Any, client: stripe.StripeClient, session: OpenSession
) -> Settled | None:
    try:
        outcome = await close_session(client, session.session_id)
    except CheckoutUnavailable as error:
        log.warning("could not close Checkout Session %s: %s", session.session_id, error)
        return None
    effects = Effects()
    async with pool.acquire() as conn, conn.transaction():
        if outcome.state is SessionState.PAID:  # paid before we closed it: refund
            await record_payment(conn, session.appointment_id, outcome.payment_intent_id, effects)
        # A processing payment that succeeds later is refunded by its event.
        await payments.mark_checkout_closed(conn, session.appointment_id)
    return Settled(effects=effects)
