"""Delivering the outbox: claim due rows under a lease, send them outside any transaction, and
record the outcome.

Claiming is one UPDATE over a `FOR UPDATE SKIP LOCKED` subquery that also sets `locked_until`
and the run's `lease_token`: two workers never claim the same row, and a worker that dies
mid-batch only delays its rows until the lease runs out. A batch slow enough for its lease to
run out may be claimed again by the next run, so before each message the run extends that
row's lease only if it still holds the token, and skips the row otherwise; its outcome is
recorded only under the same condition, never over the new holder's lease. A failed send
is retried with exponential back-off until MAX_ATTEMPTS, then the row is marked failed. Each
row is marked sent right after the SMTP server accepts it, so a worker killed mid-batch can
resend at most the one message it was sending (with the same Message-ID).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import aiosmtplib
import asyncpg

from server.infra.config import Config
from server.infra.job_queue import retry_delay
from server.infra.metrics import MESSAGES_SENT
from server.notifications.mailer import Mailer, build_email
from server.notifications.sms import SmsSender, SmsUnavailable

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
BATCH_SIZE = 50
MAX_ATTEMPTS = 15
FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=15)


@dataclass(frozen=True)
class OutboxMessage:
    id: UUID
    channel: str
    kind: str
    recipient: str
    subject: str | None
    body_text: str
    body_html: str | None
    attachments: list[dict[str, Any]]
    appointment_id: UUID | None
    attempts: int
    # The claiming run's token: only the run holding it may send the row or record its outcome.
    lease_token: UUID

    @property
    def is_reminder(self) -> bool:
        return self.kind.startswith("reminder")


async def claim_due(
    conn: asyncpg.Connection,
    now: datetime,
    *,
    token: UUID,
    lease: timedelta = LEASE,
    limit: int = BATCH_SIZE,
) -> list[OutboxMessage]:
    """Take a lease on up to `limit` due messages nobody else holds, oldest first."""
    rows = await conn.fetch(
        """
        UPDATE outbox AS o
           SET locked_until = $2,
               lease_token = $4,
               attempts = o.attempts + 1
          FROM (SELECT id
                  FROM outbox
                 WHERE status = 'pending'
                   AND NOT held
                   AND next_attempt_at <= $1
                   AND (locked_until IS NULL OR locked_until <= $1)
                 ORDER BY next_attempt_at
                 LIMIT $3
                   FOR UPDATE SKIP LOCKED) AS due
         WHERE o.id = due.id
        RETURNING o.id, o.channel, o.kind, o.recipient, o.subject, o.body_text, o.body_html,
                  o.attachments, o.appointment_id, o.attempts, o.lease_token
        """,
        now,
        now + lease,
        limit,
        token,
    )
    return [OutboxMessage(**dict(row)) for row in rows]


async def extend_lease(
    conn: asyncpg.Connection, message: OutboxMessage, now: datetime, *, lease: timedelta = LEASE
) -> bool:
    """Renew this run's lease on `message` before sending it; False when the row is no longer
    this run's to send (another run claimed it after our lease ran out, or it went out)."""
    renewed: UUID | None = await conn.fetchval(
        """
        UPDATE outbox
           SET locked_until = $3
         WHERE id = $1
           AND lease_token = $2
           AND status = 'pending'
        RETURNING id
        """,
        message.id,
        message.lease_token,
        now + lease,
    )
    return renewed is not None


async def mark_sent(conn: asyncpg.Connection, message: OutboxMessage, now: datetime) -> None:
    await conn.execute(
        """
        UPDATE outbox
           SET status = 'sent',
               sent_at = $3,
               locked_until = NULL,
               lease_token = NULL,
               last_error = NULL
         WHERE id = $1
           AND lease_token = $2
           AND status = 'pending'
        """,
        message.id,
        message.lease_token,
        now,
    )


async def mark_skipped(conn: asyncpg.Connection, message: OutboxMessage) -> None:
    await conn.execute(
        """
        UPDATE outbox
           SET status = 'skipped',
               locked_until = NULL,
               lease_token = NULL
         WHERE id = $1
           AND lease_token = $2
           AND status = 'pending'
        """,
        message.id,
        message.lease_token,
    )


async def mark_failed(
    conn: asyncpg.Connection, message: OutboxMessage, error: str, now: datetime
) -> None:
    """Try again later, or give up after MAX_ATTEMPTS (only while the lease is still ours)."""
    final = message.attempts >= MAX_ATTEMPTS
    await conn.execute(
        """
        UPDATE outbox
           SET status = $3,
               next_attempt_at = $4,
               locked_until = NULL,
               lease_token = NULL,
               last_error = $5
         WHERE id = $1
           AND lease_token = $2
           AND status = 'pending'
        """,
        message.id,
        message.lease_token,
        "failed" if final else "pending",
        now + retry_delay(message.attempts, first=FIRST_RETRY, longest=LONGEST_RETRY),
        error[:2000],
    )


async def reminder_still_due(
    conn: asyncpg.Connection, message: OutboxMessage, now: datetime
) -> bool:
    """A reminder goes out only while its appointment is CONFIRMED, has not started and has not
    moved since the reminder was written (it would name the old time)."""
    due: bool | None = await conn.fetchval(
        """
        SELECT a.status = 'CONFIRMED'
               AND a.starts_at > $3
               AND (a.rescheduled_at IS NULL OR a.rescheduled_at < m.created_at)
          FROM appointments AS a
          JOIN outbox AS m ON m.id = $2
         WHERE a.id = $1
        """,
        message.appointment_id,
        message.id,
        now,
    )
    return bool(due)


async def deliver_due(
    pool: Any,
    config: Config,
    *,
    now: datetime | None = None,
    lease: timedelta = LEASE,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Send every message due at `now` (default: the clock), batch by batch; returns how many
    were sent. Safe to run in any number of workers at once."""
    sent = 0
    token = uuid.uuid4()  # this run's: what it claimed stays its own only while it holds this
    while True:
        moment = now or datetime.now().astimezone()
        async with pool.acquire() as conn:
            batch = await claim_due(conn, moment, token=token, lease=lease, limit=batch_size)
        if not batch:
            return sent
        sent += await _send_batch(pool, config, batch, now, lease)
        if len(batch) < batch_size:
            return sent


async def _send_batch(
    pool: Any, config: Config, batch: list[OutboxMessage], now: datetime | None, lease: timedelta
) -> int:
    sent = 0
    smtp_down: str | None = None  # once the server is unreachable, the batch's e-mail waits
    async with Mailer(config) as mailer, SmsSender(config) as sms:
        for message in batch:
            moment = now or datetime.now().astimezone()
            if not await _still_ours(pool, message, moment, lease):
                continue
            if await _skipped_as_stale(pool, message, moment):
                continue
            if smtp_down is not None and message.channel == "email":
                error: str | None = smtp_down
            else:
                error, unreachable = await _send_one(mailer, sms, config, message)
                if unreachable:
                    smtp_down = error
            async with pool.acquire() as conn:
                if error is None:
                    await mark_sent(conn, message, now or datetime.now().astimezone())
                    sent += 1
                    MESSAGES_SENT.labels(message.channel, "sent").inc()
                else:
                    log.warning("outbox %s to %s failed: %s", message.id, message.recipient, error)
                    await mark_failed(conn, message, error, moment)
                    MESSAGES_SENT.labels(message.channel, _failure(message)).inc()
    return sent


def _failure(message: OutboxMessage) -> str:
    return "failed" if message.attempts >= MAX_ATTEMPTS else "retry"


async def _still_ours(pool: Any, message: OutboxMessage, now: datetime, lease: timedelta) -> bool:
    async with pool.acquire() as conn:
        if await extend_lease(conn, message, now, lease=lease):
            return True
    log.info("outbox %s was claimed by another run after this run's lease ran out", message.id)
    return False


async def _skipped_as_stale(pool: Any, message: OutboxMessage, now: datetime) -> bool:
    """A reminder whose appointment was cancelled, moved or has started since it was queued is
    marked skipped instead of sent."""
    if not message.is_reminder or message.appointment_id is None:
        return False
    async with pool.acquire() as conn:
        if await reminder_still_due(conn, message, now):
            return False
        await mark_skipped(conn, message)
    return True


_UNREACHABLE = (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError)


async def _send_one(
    mailer: Mailer, sms: SmsSender, config: Config, message: OutboxMessage
) -> tuple[str | None, bool]:
    """Send one message outside any transaction. Returns the error text (None when it went
    out) and whether the SMTP server could not be reached at all."""
    try:
        if message.channel == "sms":
            await sms.send(message.recipient, message.body_text)
        else:
            assert message.subject is not None
            await mailer.send(
                build_email(
                    outbox_id=message.id,
                    mail_from=config.mail_from,
                    to=message.recipient,
                    subject=message.subject,
                    text=message.body_text,
                    html=message.body_html,
                    attachments=message.attachments,
                )
            )
    except SmsUnavailable as error:
        return f"{type(error).__name__}: {error}", False
    except (aiosmtplib.SMTPException, OSError) as error:
        return f"{type(error).__name__}: {error}", isinstance(error, _UNREACHABLE)
    return None, False
