"""A provider moving one of their bookings along: confirm, reject, cancel, complete, no-show.

The move itself is server.usecases.appointments.move_appointment (one transaction); what must
follow the commit (slot watchers and the provider's sockets hear about it, the worker sends the
messages and makes the refund the move queued) comes back as the result's `effects`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from server.domain.appointments import Move
from server.models.appointments import Appointment
from server.models.providers import Provider
from server.usecases.appointments import (
    Actor,
    MoveResult,
    appointment_not_found,
    move_appointment,
)


async def move_provider_appointment(
    conn: asyncpg.Connection,
    provider: Provider,
    appointment_id: UUID,
    move: Move,
    *,
    reason: str | None,
    now: datetime,
) -> MoveResult:
    """Apply `move` to one of `provider`'s bookings; the caller runs the result's `effects`.

    Another provider's booking answers 404 `appointment_not_found` exactly like an unknown id,
    so ids cannot be probed; a move the state machine refuses answers 409 `invalid_transition`,
    a cancel once the appointment has started 409 `too_late_to_cancel`.
    """

    def authorize(appointment: Appointment) -> None:
        if appointment.provider_id != provider.id:
            raise appointment_not_found()

    return await move_appointment(
        conn,
        appointment_id,
        move,
        actor=Actor("provider", user_id=provider.user_id, reason=reason),
        authorize=authorize,
        now=now,
    )
