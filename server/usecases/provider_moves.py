"""A provider moving one of their bookings along: confirm, reject, cancel, complete, no-show.

The move itself is server.usecases.appointments.move_appointment (one transaction); what follows
the commit is here: slot watchers and the provider's sockets hear about it, and the worker is
nudged to send the messages and make the refund the move queued.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from redis.asyncio import Redis

from server.domain.appointments import Move
from server.models.appointments import Appointment
from server.models.providers import Provider
from server.usecases.appointments import (
    Actor,
    after_move,
    appointment_not_found,
    move_appointment,
)


async def move_provider_appointment(
    conn: asyncpg.Connection,
    redis: Redis | None,
    jobs: Redis | None,
    provider: Provider,
    appointment_id: UUID,
    move: Move,
    *,
    reason: str | None,
    now: datetime,
) -> Appointment:
    """Apply `move` to one of `provider`'s bookings and announce it after the commit.

    Another provider's booking answers 404 `appointment_not_found` exactly like an unknown id,
    so ids cannot be probed; a move the state machine refuses answers 409 `invalid_transition`.
    """

    def authorize(appointment: Appointment) -> None:
        if appointment.provider_id != provider.id:
            raise appointment_not_found()

    result = await move_appointment(
        conn,
        appointment_id,
        move,
        actor=Actor("provider", user_id=provider.user_id, reason=reason),
        authorize=authorize,
        now=now,
    )
    await after_move(redis, jobs, result)
    return result.after
