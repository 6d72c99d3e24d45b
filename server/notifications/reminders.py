"""Reminders: for each CONFIRMED appointment and each REMINDER_OFFSETS offset, one e-mail to
the customer and one to the provider (and a text message to a customer who gave a phone, when
Twilio is configured), queued at the first run at or after start minus offset.

Exactly once comes from the outbox's unique dedupe key
`reminder:{id}:{start}:{offset}:{recipient}` (start in Unix seconds): two runs at once both try to
insert, one wins and the other's insert does nothing. The start is in the key so that a booking
moved to another time is reminded of its new time. A reminder already due when the appointment
was booked, or last moved, is never queued (the confirmation or the "rescheduled" e-mail covers
it), and delivery re-checks that the appointment is still CONFIRMED and not started before
sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from server.infra.config import Config
from server.infra.metrics import REMINDER_LATENESS, REMINDERS_SENT
from server.models.appointments import (
    APPOINTMENT_COLUMNS,
    APPOINTMENT_FROM,
    Appointment,
    appointment_from_row,
)
from server.notifications.messages import appointment_context, customer_zone, provider_zone
from server.notifications.outbox import queue_email, queue_sms
from server.notifications.sms import sms_enabled

BATCH_SIZE = 200


@dataclass(frozen=True)
class DueReminder:
    appointment: Appointment
    offset_minutes: int


def describe_offset(minutes: int) -> str:
    """How far ahead a reminder is: "in 1 day", "in 2 hours", "in 90 minutes"."""
    for unit_minutes, unit in ((1440, "day"), (60, "hour")):
        if minutes % unit_minutes == 0:
            count = minutes // unit_minutes
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return f"in {minutes} minutes"


async def select_due_reminders(
    conn: asyncpg.Connection, offsets: tuple[int, ...], now: datetime, *, limit: int = BATCH_SIZE
) -> list[DueReminder]:
    """Confirmed, not yet started appointments with a reminder due at `now` that was not due
    when they were booked and has not been queued yet. Uses the partial index on CONFIRMED
    starts_at and the outbox's unique dedupe key."""
    # The column lists are module constants; every value goes through $n.
    rows = await conn.fetch(
        f"""
        SELECT {APPOINTMENT_COLUMNS}, o.offset_minutes
        {APPOINTMENT_FROM}
         CROSS JOIN unnest($1::integer[]) AS o (offset_minutes)
         WHERE a.status = 'CONFIRMED'
           AND a.starts_at > $2
           AND a.starts_at <= $2 + make_interval(mins => $3)
           AND a.starts_at - make_interval(mins => o.offset_minutes) <= $2
           AND a.starts_at - make_interval(mins => o.offset_minutes)
               > GREATEST(a.booked_at, a.rescheduled_at)
           AND NOT EXISTS (
                   SELECT 1
                     FROM outbox AS m
                    WHERE m.dedupe_key IN (
                              'reminder:' || a.id || ':' || extract(epoch FROM a.starts_at)::bigint
                              || ':' || o.offset_minutes || ':customer',
                              -- the key before it named the start (queued before an upgrade)
                              'reminder:' || a.id || ':' || o.offset_minutes || ':customer'))
         ORDER BY a.starts_at
         LIMIT $4
        """,  # noqa: S608
        list(offsets),
        now,
        max(offsets),
        limit,
    )
    return [
        DueReminder(
            appointment=appointment_from_row(_without(row, "offset_minutes")),
            offset_minutes=row["offset_minutes"],
        )
        for row in rows
    ]


async def provider_emails(conn: asyncpg.Connection, user_ids: set[UUID]) -> dict[UUID, str]:
    """The providers' addresses (their accounts' e-mails), in one query for a whole batch."""
    rows = await conn.fetch(
        "SELECT id, email FROM users WHERE id = ANY($1::uuid[])", list(user_ids)
    )
    return {row["id"]: row["email"] for row in rows}


def _without(row: asyncpg.Record, column: str) -> dict[str, Any]:
    values = dict(row)
    values.pop(column)
    return values


async def queue_reminder(
    conn: asyncpg.Connection, due: DueReminder, provider_address: str, config: Config
) -> int:
    """Queue one offset's reminders for one appointment; returns how many were new."""
    appointment = due.appointment
    start = int(appointment.starts_at.timestamp())
    key = f"reminder:{appointment.id}:{start}:{due.offset_minutes}"
    when = {"when_text": describe_offset(due.offset_minutes)}
    customer_context = appointment_context(appointment, customer_zone(appointment)) | when
    queued = [
        await queue_email(
            conn,
            kind="reminder_customer",
            to=appointment.customer_email,
            context=customer_context,
            dedupe_key=f"{key}:customer",
            appointment_id=appointment.id,
            user_id=appointment.customer_user_id,
        ),
        await queue_email(
            conn,
            kind="reminder_provider",
            to=provider_address,
            context=appointment_context(appointment, provider_zone(appointment)) | when,
            dedupe_key=f"{key}:provider",
            appointment_id=appointment.id,
            user_id=appointment.provider_user_id,
        ),
    ]
    if sms_enabled(config) and appointment.customer_phone:
        queued.append(
            await queue_sms(
                conn,
                kind="reminder_customer",
                to=appointment.customer_phone,
                context=customer_context,
                dedupe_key=f"{key}:customer_sms",
                appointment_id=appointment.id,
            )
        )
    return sum(queued)


def _count_reminders(batch: list[DueReminder], now: datetime) -> None:
    """After the batch's commit: each reminder queued, and how late past its due moment."""
    for due in batch:
        due_at = due.appointment.starts_at - timedelta(minutes=due.offset_minutes)
        REMINDERS_SENT.inc()
        REMINDER_LATENESS.observe(max((now - due_at).total_seconds(), 0.0))


async def queue_due_reminders(pool: Any, config: Config, *, now: datetime) -> int:
    """Queue every reminder due at `now`; returns how many messages were queued. Safe to run
    in two workers at once, and after a worker died mid-run."""
    queued = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            batch = await select_due_reminders(conn, config.reminder_offsets, now)
            addresses = await provider_emails(
                conn, {due.appointment.provider_user_id for due in batch}
            )
            for due in batch:
                address = addresses[due.appointment.provider_user_id]
                queued += await queue_reminder(conn, due, address, config)
        _count_reminders(batch, now)
        if len(batch) < BATCH_SIZE:
            return queued
