"""The outbox: every e-mail and text message is a row written in the caller's transaction.

Nothing here talks to the network. `queue_email` renders the message and inserts it with a
dedupe key, so the same event queued twice is one message; the worker's `deliver_outbox`
(jobs/notifications.py) sends rows after the commit. `nudge_delivery` asks the worker to look
now instead of at its next sweep.

Held rows belong to a booking still awaiting online payment: `release_held` lets them go when it
is paid, `drop_held` deletes them when its hold expires (the booking never happened).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

import asyncpg
from redis.asyncio import Redis

from server.infra.job_queue import enqueue_job
from server.notifications.rendering import render_email, render_sms

DELIVERY_JOB = "deliver_outbox"
# Context fields whose link opens something without signing in (a reset or verification
# token, a booking's manage key): a message with one is marked `carries_secret`, and its body
# is cleared once it is sent or given up on (jobs/purge.py).
SECRET_LINK_FIELDS = frozenset({"reset_url", "verify_url", "manage_url"})


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar; method=PUBLISH"
    content: str


@dataclass(frozen=True)
class PreparedEmail:
    """One e-mail rendered and ready to be an outbox row (see `prepare_email`)."""

    kind: str
    recipient: str
    subject: str
    text: str
    html: str
    dedupe_key: str
    appointment_id: UUID | None = None
    user_id: UUID | None = None
    held: bool = False
    attachments: tuple[Attachment, ...] = ()
    carries_secret: bool = False


def prepare_email(
    *,
    kind: str,
    to: str,
    context: dict[str, Any],
    dedupe_key: str,
    appointment_id: UUID | None = None,
    user_id: UUID | None = None,
    held: bool = False,
    attachments: Sequence[Attachment] = (),
    carries_secret: bool = False,
) -> PreparedEmail:
    """Render one e-mail from the `kind` templates with `context`, for `queue_email` or a
    caller that writes its rows together with others (a new booking's, in one statement).

    `carries_secret` marks a body holding a link that works without signing in; a context
    with one of SECRET_LINK_FIELDS is marked whatever the caller says.
    """
    rendered = render_email(kind, context)
    return PreparedEmail(
        kind=kind,
        recipient=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        dedupe_key=dedupe_key,
        appointment_id=appointment_id,
        user_id=user_id,
        held=held,
        attachments=tuple(attachments),
        carries_secret=carries_secret or not SECRET_LINK_FIELDS.isdisjoint(context),
    )


async def queue_email(
    conn: asyncpg.Connection,
    *,
    kind: str,
    to: str,
    context: dict[str, Any],
    dedupe_key: str,
    appointment_id: UUID | None = None,
    user_id: UUID | None = None,
    held: bool = False,
    attachments: Sequence[Attachment] = (),
    carries_secret: bool = False,
) -> bool:
    """Queue one e-mail from the `kind` templates rendered with `context`, in the caller's
    transaction. Returns False when a message with this `dedupe_key` already exists."""
    email = prepare_email(
        kind=kind,
        to=to,
        context=context,
        dedupe_key=dedupe_key,
        appointment_id=appointment_id,
        user_id=user_id,
        held=held,
        attachments=attachments,
        carries_secret=carries_secret,
    )
    return await insert_email(conn, email)


async def insert_email(conn: asyncpg.Connection, email: PreparedEmail) -> bool:
    """Write one prepared e-mail; False when a message with its dedupe key already exists."""
    inserted: UUID | None = await conn.fetchval(
        """
        INSERT INTO outbox (channel, kind, recipient, subject, body_text, body_html,
                            attachments, appointment_id, user_id, dedupe_key, held,
                            carries_secret)
        VALUES ('email', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id
        """,
        email.kind,
        email.recipient,
        email.subject,
        email.text,
        email.html,
        [asdict(attachment) for attachment in email.attachments],
        email.appointment_id,
        email.user_id,
        email.dedupe_key,
        email.held,
        email.carries_secret,
    )
    return inserted is not None


async def queue_sms(
    conn: asyncpg.Connection,
    *,
    kind: str,
    to: str,
    context: dict[str, Any],
    dedupe_key: str,
    appointment_id: UUID | None = None,
) -> bool:
    """Queue one text message from the `{kind}.sms.txt` template; False if already queued."""
    inserted: UUID | None = await conn.fetchval(
        """
        INSERT INTO outbox (channel, kind, recipient, body_text, appointment_id, dedupe_key)
        VALUES ('sms', $1, $2, $3, $4, $5)
            ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id
        """,
        kind,
        to,
        render_sms(kind, context),
        appointment_id,
        dedupe_key,
    )
    return inserted is not None


async def release_held(conn: asyncpg.Connection, appointment_id: UUID) -> int:
    """The booking was paid: its held messages go out at the next delivery. Returns how many."""
    rows = await conn.fetch(
        """
        UPDATE outbox
           SET held = false,
               next_attempt_at = clock_timestamp()
         WHERE appointment_id = $1
           AND held
        RETURNING id
        """,
        appointment_id,
    )
    return len(rows)


async def drop_held(conn: asyncpg.Connection, appointment_id: UUID) -> int:
    """The booking's payment hold expired: its held messages are never sent. Returns how many."""
    rows = await conn.fetch(
        """
        DELETE FROM outbox
         WHERE appointment_id = $1
           AND held
        RETURNING id
        """,
        appointment_id,
    )
    return len(rows)


async def nudge_delivery(queue: Redis | None) -> None:
    """After commit: ask the worker to deliver now (its cron sweep would within seconds)."""
    await enqueue_job(queue, DELIVERY_JOB)


async def clear_secret_bodies(conn: asyncpg.Connection) -> int:
    """Empty the bodies of messages that carried a secret link and are done with (sent, or
    given up on after every retry), so the link is no longer in the database; how many."""
    cleared: int = await conn.fetchval(
        """
        WITH cleared AS (
            UPDATE outbox
               SET body_text = '',
                   body_html = NULL,
                   carries_secret = false
             WHERE carries_secret
               AND status IN ('sent', 'failed')
            RETURNING 1
        )
        SELECT count(*) FROM cleared
        """
    )
    return cleared
