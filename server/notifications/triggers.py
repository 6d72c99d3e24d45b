"""The notifications each booking change causes, queued in the caller's transaction.

Called from inside the transactions of server.usecases.bookings and
server.usecases.appointments, so a message exists exactly when its change committed.
"""

from __future__ import annotations

import asyncpg

from server.models.appointments import Appointment


async def queue_booking_received(
    conn: asyncpg.Connection, appointment: Appointment, *, manage_url: str
) -> None:
    """A new booking: the customer's "received" e-mail (with the manage link) and the
    provider's "new booking" e-mail. Held back while the booking awaits online payment."""


async def queue_move_notifications(
    conn: asyncpg.Connection, before: Appointment, after: Appointment, *, actor: str
) -> None:
    """One message per recipient for a status move (confirmed, rejected, cancelled, …)."""
