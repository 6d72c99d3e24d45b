"""Queueing webhook deliveries in the transaction of the booking change they report.

Called from server.notifications.triggers (created, confirmed, rejected, cancelled,
completed, no_show, rescheduled) and server.usecases.checkout_events (paid), beside the
e-mails of the same change: a delivery exists exactly when its change committed. The worker
is nudged by `Effects.appointment_changed`, which every such change records.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from server.domain.appointments import Status
from server.models import webhooks
from server.models.appointments import Appointment

EVENTS = (
    "booking.created",
    "booking.paid",
    "booking.confirmed",
    "booking.rejected",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.completed",
    "booking.no_show",
)
WEBHOOK_DELIVERY_JOB = "deliver_webhooks"

_EVENT_FOR_STATUS = {
    Status.CONFIRMED: "booking.confirmed",
    Status.REJECTED: "booking.rejected",
    Status.CANCELLED: "booking.cancelled",
    Status.COMPLETED: "booking.completed",
    Status.NO_SHOW: "booking.no_show",
}


async def queue_webhook_event(
    conn: asyncpg.Connection,
    appointment: Appointment,
    event: str,
    *,
    previous: Appointment | None = None,
) -> int:
    """One delivery of `event` about `appointment` (as it is now) to each of its provider's
    webhooks subscribed to it; `previous` (a reschedule) adds the times it had. How many."""
    assert event in EVENTS, event
    data: dict[str, Any] = {"appointment": appointment.to_json()}
    if previous is not None:
        zone = previous.zone
        data["previous"] = {
            "start_time": previous.starts_at.astimezone(zone).isoformat(),
            "end_time": previous.ends_at.astimezone(zone).isoformat(),
        }
    return await webhooks.insert_deliveries(conn, appointment.provider_id, event, data)


async def queue_status_webhook(conn: asyncpg.Connection, after: Appointment) -> int:
    """The webhook event of a status move (the status it moved to), if it has one."""
    event = _EVENT_FOR_STATUS.get(after.status)
    if event is None:
        return 0
    return await queue_webhook_event(conn, after, event)
