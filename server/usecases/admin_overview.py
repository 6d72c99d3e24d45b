"""What the operator's /admin page shows: the outbox backlog and everything that failed.

Every read is one query over the tables the worker already keeps (outbox, refunds,
webhook_deliveries, busy_calendars, caldav_accounts, caldav_pushes); nothing is counted twice.
What could open something is never returned: no message bodies (a reset link, a manage key),
no webhook payloads or secrets, no CalDAV password, and of each URL only its origin (a private
iCal feed's or a chat webhook's path is its secret), in error texts too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.usecases.admin_redaction import redact_urls, url_origin

# How many rows of each failure list the page shows (newest first); the totals count them all.
LIST_LIMIT = 100


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _json(item: Any) -> dict[str, Any]:
    return {key: _plain(value) for key, value in asdict(item).items()}


@dataclass(frozen=True)
class OutboxBacklog:
    """Pending messages of one kind: how many, how many held for a payment, how many failed
    at least once and wait for a retry, and since when the oldest due one has been waiting."""

    kind: str
    channel: str
    pending: int
    held: int
    retrying: int
    oldest_due_at: datetime | None
    oldest_due_age_seconds: float | None


@dataclass(frozen=True)
class FailedMessage:
    id: UUID
    status: str
    channel: str
    kind: str
    recipient: str
    subject: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    # The body held a secret link and was cleared after the last attempt: nothing to resend.
    body_purged: bool


@dataclass(frozen=True)
class FailedRefund:
    id: UUID
    appointment_id: UUID
    # Stripe's id of the payment, to find it in Stripe's dashboard (not a secret: it opens
    # nothing without the platform's key).
    payment_intent_id: str
    business_name: str
    status: str
    attempts: int
    last_error: str | None
    requested_at: datetime
    # None: the worker gave up; otherwise when it tries again.
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class FailedWebhookDelivery:
    id: UUID
    webhook_id: UUID
    business_name: str
    url_origin: str
    event: str
    status: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class CalendarSyncError:
    """A provider calendar whose last sync failed: a busy feed, a CalDAV pull or a push."""

    kind: str  # busy_feed, caldav_pull, caldav_push
    provider_id: UUID
    business_name: str
    url_origin: str | None
    last_error: str | None
    last_synced_at: datetime | None
    attempts: int | None
    appointment_id: UUID | None


@dataclass(frozen=True)
class Overview:
    outbox: list[OutboxBacklog]
    failed_messages: list[FailedMessage]
    failed_messages_total: int
    failed_refunds: list[FailedRefund]
    webhook_failures: list[FailedWebhookDelivery]
    calendar_errors: list[CalendarSyncError]
    generated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "outbox": {
                "pending_total": sum(item.pending for item in self.outbox),
                "oldest_due_age_seconds": max(
                    (
                        item.oldest_due_age_seconds
                        for item in self.outbox
                        if item.oldest_due_age_seconds is not None
                    ),
                    default=None,
                ),
                "by_kind": [_json(item) for item in self.outbox],
            },
            "failed_messages": {
                "total": self.failed_messages_total,
                "items": [message_json(item) for item in self.failed_messages],
            },
            "failed_refunds": [_json(item) for item in self.failed_refunds],
            "webhook_failures": [_json(item) for item in self.webhook_failures],
            "calendar_errors": [_json(item) for item in self.calendar_errors],
        }


def message_json(message: FailedMessage) -> dict[str, Any]:
    body = _json(message)
    body["last_error"] = redact_urls(message.last_error)
    return body


async def read_overview(conn: asyncpg.Connection, now: datetime) -> Overview:
    """Everything the admin page shows, as of `now`."""
    return Overview(
        outbox=await select_outbox_backlog(conn, now),
        failed_messages=await select_failed_messages(conn),
        failed_messages_total=await count_failed_messages(conn),
        failed_refunds=await select_failed_refunds(conn),
        webhook_failures=await select_webhook_failures(conn),
        calendar_errors=await select_calendar_errors(conn),
        generated_at=now,
    )


async def select_outbox_backlog(conn: asyncpg.Connection, now: datetime) -> list[OutboxBacklog]:
    rows = await conn.fetch(
        """
        SELECT kind,
               channel,
               count(*)                                          AS pending,
               count(*) FILTER (WHERE held)                      AS held,
               count(*) FILTER (WHERE attempts > 0)              AS retrying,
               min(next_attempt_at) FILTER (WHERE NOT held
                                              AND next_attempt_at <= $1) AS oldest_due_at
          FROM outbox
         WHERE status = 'pending'
         GROUP BY kind, channel
         ORDER BY count(*) DESC, kind, channel
        """,
        now,
    )
    return [
        OutboxBacklog(
            **dict(row),
            oldest_due_age_seconds=(
                None
                if row["oldest_due_at"] is None
                else max(0.0, (now - row["oldest_due_at"]).total_seconds())
            ),
        )
        for row in rows
    ]


async def select_failed_messages(
    conn: asyncpg.Connection, *, limit: int = LIST_LIMIT
) -> list[FailedMessage]:
    rows = await conn.fetch(
        """
        SELECT id, status, channel, kind, recipient, subject, attempts, last_error,
               created_at, body_text = '' AS body_purged
          FROM outbox
         WHERE status = 'failed'
         ORDER BY created_at DESC
         LIMIT $1
        """,
        limit,
    )
    return [FailedMessage(**dict(row)) for row in rows]


async def count_failed_messages(conn: asyncpg.Connection) -> int:
    total: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'")
    return total


async def select_failed_refunds(
    conn: asyncpg.Connection, *, limit: int = LIST_LIMIT
) -> list[FailedRefund]:
    rows = await conn.fetch(
        """
        SELECT r.id, r.appointment_id, r.payment_intent_id, p.business_name, r.status,
               r.attempts, r.last_error, r.requested_at, r.next_attempt_at
          FROM refunds AS r
          JOIN appointments AS a ON a.id = r.appointment_id
          JOIN services AS s ON s.id = a.service_id
          JOIN providers AS p ON p.id = s.provider_id
         WHERE r.status = 'failed'
         ORDER BY r.requested_at DESC
         LIMIT $1
        """,
        limit,
    )
    return [
        FailedRefund(**{**dict(row), "last_error": redact_urls(row["last_error"])}) for row in rows
    ]


async def select_webhook_failures(
    conn: asyncpg.Connection, *, limit: int = LIST_LIMIT
) -> list[FailedWebhookDelivery]:
    """Deliveries given up on, and pending ones that have failed at least once."""
    rows = await conn.fetch(
        """
        SELECT d.id, d.webhook_id, p.business_name, w.url, d.event, d.status, d.attempts,
               d.response_status, d.last_error, d.created_at,
               CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at
          FROM webhook_deliveries AS d
          JOIN webhooks AS w ON w.id = d.webhook_id
          JOIN providers AS p ON p.id = w.provider_id
         WHERE d.status = 'failed'
            OR (d.status = 'pending' AND d.attempts > 0)
         ORDER BY d.created_at DESC
         LIMIT $1
        """,
        limit,
    )
    failures = []
    for row in rows:
        fields = dict(row)
        url = fields.pop("url")
        fields["last_error"] = redact_urls(fields["last_error"])
        failures.append(FailedWebhookDelivery(**fields, url_origin=url_origin(url)))
    return failures


async def select_calendar_errors(
    conn: asyncpg.Connection, *, limit: int = LIST_LIMIT
) -> list[CalendarSyncError]:
    rows = await conn.fetch(
        """
        (SELECT 'busy_feed' AS kind, b.provider_id, p.business_name, b.url, b.last_error,
                b.last_synced_at, NULL::integer AS attempts, NULL::uuid AS appointment_id,
                b.last_attempt_at AS happened_at
           FROM busy_calendars AS b
           JOIN providers AS p ON p.id = b.provider_id
          WHERE b.last_error IS NOT NULL)
        UNION ALL
        (SELECT 'caldav_pull', c.provider_id, p.business_name, c.url, c.last_error,
                c.last_synced_at, NULL, NULL, c.updated_at
           FROM caldav_accounts AS c
           JOIN providers AS p ON p.id = c.provider_id
          WHERE c.last_error IS NOT NULL)
        UNION ALL
        (SELECT 'caldav_push', q.provider_id, p.business_name, c.url, q.last_error,
                NULL, q.attempts, q.appointment_id, q.created_at
           FROM caldav_pushes AS q
           JOIN providers AS p ON p.id = q.provider_id
           LEFT JOIN caldav_accounts AS c ON c.provider_id = q.provider_id
          WHERE q.last_error IS NOT NULL)
         ORDER BY happened_at DESC NULLS LAST
         LIMIT $1
        """,
        limit,
    )
    errors = []
    for row in rows:
        fields = dict(row)
        url = fields.pop("url")
        fields.pop("happened_at")
        fields["last_error"] = redact_urls(fields["last_error"])
        errors.append(
            CalendarSyncError(**fields, url_origin=None if url is None else url_origin(url))
        )
    return errors
