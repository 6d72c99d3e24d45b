"""Holds: an unpaid online booking keeps its slot for HOLD_MINUTES, then the slot is freed.

Freeing goes through move_appointment (CANCELLED, actor "system"), so the history, the refill
of the day and the announcements are those of any cancellation. Two sweeps never fight over a
hold: each takes the next expired one with SKIP LOCKED, one short transaction per hold.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import stripe
from redis.asyncio import Redis

from server.domain.appointments import Move, PaymentStatus
from server.edge.errors import APIError
from server.models.appointments import Appointment
from server.models.payments import lock_next_expired_hold
from server.usecases.appointments import Actor, MoveResult, announce_move, move_appointment

log = logging.getLogger(__name__)

HOLD_EXPIRED_REASON = "payment not completed"
# One sweep frees at most this many holds; the next run takes the rest.
SWEEP_LIMIT = 500


class HoldNotOpen(Exception):
    """The booking is paid (or otherwise no longer an unpaid hold) by the time it is locked."""


def _still_unpaid(before: Appointment) -> None:
    if before.payment_status is not PaymentStatus.AWAITING_PAYMENT:
        raise HoldNotOpen(str(before.id))


async def release_hold(
    conn: asyncpg.Connection, appointment_id: UUID, *, now: datetime
) -> MoveResult | None:
    """Cancel an unpaid booking to free its slot; None when it was paid or ended meanwhile.

    Re-checked under the row lock, so a payment recorded a moment earlier always wins.
    """
    try:
        return await move_appointment(
            conn,
            appointment_id,
            Move.CANCEL,
            actor=Actor("system", reason=HOLD_EXPIRED_REASON),
            authorize=_still_unpaid,
            now=now,
        )
    except (HoldNotOpen, APIError):
        return None


async def free_expired_holds(
    pool: Any, redis: Redis | None, client: stripe.StripeClient | None, *, now: datetime
) -> int:
    """Free every hold that ran out by `now`; returns how many were freed.

    After each commit the slot's watchers see it come back and the provider hears of the
    cancellation; then the Checkout Session is closed at Stripe so nobody can pay for it.
    """
    freed = 0
    passed_over: list[UUID] = []
    while freed + len(passed_over) < SWEEP_LIMIT:
        async with pool.acquire() as conn, conn.transaction():
            appointment_id = await lock_next_expired_hold(conn, now, passed_over=passed_over)
            if appointment_id is None:
                break
            result = await release_hold(conn, appointment_id, now=now)
        if result is None:
            passed_over.append(appointment_id)
            continue
        freed += 1
        await announce_move(redis, result)
        await expire_checkout_session(client, result.after)
    if freed:
        log.info("freed %d expired holds", freed)
    return freed


async def expire_checkout_session(
    client: stripe.StripeClient | None, appointment: Appointment
) -> None:
    """Best effort: close the booking's Checkout Session so it can no longer be paid.

    If Stripe refuses because the customer paid at the last moment, the completed event that
    follows finds the booking cancelled and refunds it.
    """
    session_id = appointment.stripe_checkout_session_id
    if client is None or session_id is None:
        return
    try:
        await client.v1.checkout.sessions.expire_async(session_id)
    except stripe.StripeError as error:
        log.warning("could not expire Checkout Session %s: %s", session_id, error)
