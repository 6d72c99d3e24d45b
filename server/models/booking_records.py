"""Everything a new booking writes beside its own row, in one statement.

A booking's history line, its CalDAV push, its two e-mails, its `booking.created` webhook
deliveries and the answer kept for its Idempotency-Key are all rows of the booking's
transaction (a message or a delivery exists exactly when the booking committed). Written as
one statement of data-modifying CTEs they cost one round trip instead of six, while the
slot's row lock is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from server.models.appointments import Appointment
from server.models.slot_claims import BookableSlot, bookable_now
from server.notifications.outbox import PreparedEmail

WEBHOOK_EVENT = "booking.created"


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to an Idempotency-Key, kept for replaying it."""

    scope: str
    key: str
    request_hash: str
    response: dict[str, Any]


# The records, written for whichever booking the statement's `claimed` CTE yields (none: no
# rows at all). $1 is the booking's id, $2 the customer's account, $3 the provider.
_RECORDS = """
    history AS (
        INSERT INTO appointment_events (appointment_id, from_status, to_status, actor,
                                        actor_user_id)
        SELECT id, NULL, 'PENDING', 'customer', $2
          FROM claimed
    ), calendar AS (
        INSERT INTO caldav_pushes (appointment_id, provider_id)
        SELECT id, $3
          FROM claimed
         WHERE EXISTS (SELECT 1 FROM caldav_accounts WHERE provider_id = $3)
            ON CONFLICT (appointment_id) DO UPDATE
           SET version = caldav_pushes.version + 1,
               next_attempt_at = now(),
               attempts = 0
    ), emails AS (
        INSERT INTO outbox (channel, kind, recipient, subject, body_text, body_html,
                            attachments, appointment_id, user_id, dedupe_key, held,
                            carries_secret)
        SELECT 'email', kind, recipient, subject, body_text, body_html,
               attachments::jsonb, claimed.id, user_id, dedupe_key, held, carries_secret
          FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                      $9::text[], $10::uuid[], $11::text[], $12::bool[], $13::bool[])
            AS email (kind, recipient, subject, body_text, body_html,
                      attachments, user_id, dedupe_key, held, carries_secret)
         CROSS JOIN claimed
            ON CONFLICT (dedupe_key) DO NOTHING
    ), deliveries AS (
        INSERT INTO webhook_deliveries (webhook_id, event, payload, created_at,
                                        next_attempt_at)
        SELECT webhooks.id, $14, $15, clock_timestamp(), clock_timestamp()
          FROM webhooks
         CROSS JOIN claimed
         WHERE webhooks.provider_id = $3
           AND $14 = ANY (webhooks.events)
    ), answer AS (
        INSERT INTO idempotency_keys (scope, key, request_hash, appointment_id, response)
        SELECT $16, $17, $18, claimed.id, $19
          FROM claimed
         WHERE $17::text IS NOT NULL
            ON CONFLICT (scope, key) DO UPDATE
           SET request_hash = excluded.request_hash,
               appointment_id = excluded.appointment_id,
               response = excluded.response,
               created_at = now()
    )
    SELECT count(*) FROM claimed
"""

# The transactional path: the booking's row is already claimed (and locked) by the caller.
_RECORD_BOOKING = f"""
    WITH claimed AS (
        SELECT $1::uuid AS id
    ), {_RECORDS}
"""


async def record_booking(
    conn: asyncpg.Connection,
    appointment: Appointment,
    appointment_json: dict[str, Any],
    *,
    actor_user_id: UUID | None,
    emails: Sequence[PreparedEmail],
    answer: StoredAnswer | None,
) -> None:
    """Write the new booking's history line ("became PENDING", by the customer), CalDAV push,
    `emails`, webhook deliveries (`appointment_json` is its `to_json()`) and, with an
    Idempotency-Key, `answer`, in the caller's transaction. E-mails whose dedupe key exists
    already are skipped, as `queue_email` does."""
    await conn.execute(
        _RECORD_BOOKING,
        *records_arguments(appointment, appointment_json, actor_user_id, emails, answer),
    )


# The one-statement path: claim the slot if it is still as read (`BookableSlot`: what the
# e-mails and the answer were made of), and write its records; or, if anything changed, none.
_CLAIM_AND_RECORD = f"""
    WITH claimed AS (
        UPDATE appointments AS a
           SET booked = true,
               status = 'PENDING',
               payment_status = $20::text,
               customer_user_id = $2,
               customer_name = $21,
               customer_email = $22,
               customer_phone = $23,
               notes = $24,
               customer_timezone = $25,
               manage_key_hash = $26,
               price_cents = s.price_cents,
               currency = s.currency,
               hold_expires_at = $27,
               booked_at = $28,
               updated_at = clock_timestamp()
          FROM services AS s
          JOIN providers AS p ON p.id = s.provider_id
         WHERE a.id = $1
           AND s.id = a.service_id
           AND p.id = $3
           AND {bookable_now("$29")}
           AND (a.service_id, a.slot_date, a.starts_at, a.ends_at, a.token, a.ical_sequence)
               = ($30::uuid, $31::date, $32::timestamptz, $33::timestamptz, $34::int, $35::int)
           AND (s.name, s.cancel_cutoff_minutes, s.price_cents, s.currency)
               = ($36::text, $37::int, $38::int, $39::text)
           AND s.location IS NOT DISTINCT FROM $40::text
           AND (p.user_id, p.business_name, p.timezone) = ($41::uuid, $42::text, $43::text)
           AND p.stripe_account_id IS NOT DISTINCT FROM $44::text
           AND (SELECT u.email FROM users AS u WHERE u.id = p.user_id) = $45::text
           AND (s.price_cents > 0
                AND $46::bool
                AND p.stripe_account_id IS NOT NULL
                AND p.charges_enabled) = ($20::text = 'awaiting_payment')
        RETURNING a.id
    ), {_RECORDS}
"""


async def claim_and_record(
    conn: asyncpg.Connection,
    slot: BookableSlot,
    appointment: Appointment,
    appointment_json: dict[str, Any],
    *,
    stripe_enabled: bool,
    now: datetime,
    emails: Sequence[PreparedEmail],
) -> bool:
    """Book `slot` as `appointment` (see `booking_of`) and write its records, in one
    statement; False, with nothing written, when the slot is no longer bookable or no longer
    as `slot` read it (the caller then books the careful way, under the row's lock).

    The UPDATE takes the row's lock; a concurrent claim waits on it and then re-checks the
    row as the winner left it, so of any number of claims exactly one fills it in."""
    records = records_arguments(
        appointment, appointment_json, appointment.customer_user_id, emails, None
    )
    claimed: int = await conn.fetchval(
        _CLAIM_AND_RECORD,
        *records,
        appointment.payment_status.value,
        appointment.customer_name,
        appointment.customer_email,
        appointment.customer_phone,
        appointment.notes,
        appointment.customer_timezone,
        appointment.manage_key_hash,
        appointment.hold_expires_at,
        appointment.booked_at,
        now,
        slot.service_id,
        slot.slot_date,
        slot.starts_at,
        slot.ends_at,
        slot.token,
        slot.ical_sequence,
        slot.service_name,
        slot.cancel_cutoff_minutes,
        slot.price_cents,
        slot.currency,
        slot.location,
        slot.provider_user_id,
        slot.business_name,
        slot.timezone,
        slot.stripe_account_id,
        slot.provider_email,
        stripe_enabled,
    )
    return claimed == 1


def records_arguments(
    appointment: Appointment,
    appointment_json: dict[str, Any],
    actor_user_id: UUID | None,
    emails: Sequence[PreparedEmail],
    answer: StoredAnswer | None,
) -> list[Any]:
    """$1 to $19 of a statement ending in `_RECORDS`."""
    for email in emails:
        assert email.appointment_id == appointment.id
    return [
        appointment.id,
        actor_user_id,
        appointment.provider_id,
        [email.kind for email in emails],
        [email.recipient for email in emails],
        [email.subject for email in emails],
        [email.text for email in emails],
        [email.html for email in emails],
        [_attachments_json(email) for email in emails],
        [email.user_id for email in emails],
        [email.dedupe_key for email in emails],
        [email.held for email in emails],
        [email.carries_secret for email in emails],
        WEBHOOK_EVENT,
        {"appointment": appointment_json},
        None if answer is None else answer.scope,
        None if answer is None else answer.key,
        None if answer is None else answer.request_hash,
        None if answer is None else answer.response,
    ]


def _attachments_json(email: PreparedEmail) -> str:
    return orjson.dumps(
        [
            {"filename": a.filename, "content_type": a.content_type, "content": a.content}
            for a in email.attachments
        ]
    ).decode()
