"""Refunds: requested in the transaction that ends a paid booking, made by the worker after."""

from __future__ import annotations

import asyncpg

from server.models.appointments import Appointment


async def request_refund_if_paid(
    conn: asyncpg.Connection, before: Appointment, after: Appointment
) -> bool:
    """Record a refund request when a paid booking was just cancelled or rejected."""
    return False
