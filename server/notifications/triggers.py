"""The notifications each booking change causes, queued in the caller's transaction.

Called from inside the transactions of server.usecases.bookings and
server.usecases.appointments, so a message exists exactly when its change committed.

One message per event per recipient (the dedupe key is the appointment, the event and the
recipient's role). A booking still awaiting online payment is not yet a booking anyone is told
about: its messages are queued held and released when it is paid (outbox.release_held). If it
ends before it is paid, the held messages are dropped and the provider hears nothing; the
customer gets a short "not completed" e-mail when their payment hold ran out (a system cancel
after a checkout was started), and their receipt or the provider's answer otherwise.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from server.domain.appointments import PaymentStatus, Status
from server.models.appointments import Appointment
from server.notifications.messages import (
    appointment_context,
    calendar_attachment,
    customer_zone,
    previous_times,
    provider_zone,
)
from server.notifications.outbox import (
    PreparedEmail,
    drop_held,
    insert_email,
    prepare_email,
    queue_email,
)
from server.usecases.caldav import queue_caldav_push
from server.webhooks.events import queue_status_webhook, queue_webhook_event


async def queue_booking_received(
    conn: asyncpg.Connection, appointment: Appointment, *, manage_url: str, base_url: str
) -> None:
    """A new booking: the customer's "received" e-mail (with the manage link) and the
    provider's "new booking" e-mail. Held back while the booking awaits online payment.

    (POST /api/bookings writes the same rows, from `booking_received_emails`, in one
    statement with the booking's other records: server.models.booking_records.)"""
    await queue_webhook_event(conn, appointment, "booking.created")
    await queue_caldav_push(conn, appointment)
    emails = booking_received_emails(
        appointment,
        provider_email=await provider_email(conn, appointment.provider_user_id),
        manage_url=manage_url,
        base_url=base_url,
    )
    for email in emails:
        await insert_email(conn, email)


def booking_received_emails(
    appointment: Appointment, *, provider_email: str, manage_url: str, base_url: str
) -> list[PreparedEmail]:
    """The two e-mails of a new booking, rendered: the customer's "received" (with the manage
    link) and the provider's "new booking"; held while the booking awaits online payment."""
    held = appointment.payment_status is PaymentStatus.AWAITING_PAYMENT
    customer_context = appointment_context(appointment, customer_zone(appointment))
    provider_context = appointment_context(appointment, provider_zone(appointment))
    return [
        prepare_email(
            kind="booking_received",
            to=appointment.customer_email,
            context=customer_context | {"manage_url": manage_url},
            dedupe_key=f"appointment:{appointment.id}:booking_received:customer",
            appointment_id=appointment.id,
            user_id=appointment.customer_user_id,
            held=held,
        ),
        prepare_email(
            kind="booking_new",
            to=provider_email,
            context=provider_context | {"dashboard_url": f"{base_url}/dashboard"},
            dedupe_key=f"appointment:{appointment.id}:booking_new:provider",
            appointment_id=appointment.id,
            user_id=appointment.provider_user_id,
            held=held,
        ),
    ]


async def queue_move_notifications(
    conn: asyncpg.Connection, before: Appointment, after: Appointment, *, actor: str
) -> None:
    """One message per recipient for a status move (confirmed, rejected, cancelled, …)."""
    if after.status is before.status:
        return
    await queue_caldav_push(conn, after)
    await queue_status_webhook(conn, after)
    unpaid = before.payment_status is PaymentStatus.AWAITING_PAYMENT
    if after.status is Status.CONFIRMED:
        # Keyed by the .ics SEQUENCE: a booking confirmed again after a move is told again.
        await _to_customer(
            conn,
            after,
            "booking_confirmed",
            held=unpaid,
            with_calendar=True,
            occurrence=after.ical_sequence,
        )
    elif after.status is Status.REJECTED:
        await drop_held(conn, after.id)
        await _to_customer(conn, after, "booking_rejected")
    elif after.status is Status.CANCELLED:
        await drop_held(conn, after.id)
        await _queue_cancellation(conn, before, after, actor=actor, unpaid=unpaid)


async def queue_reschedule_notifications(
    conn: asyncpg.Connection, before: Appointment, after: Appointment, *, actor: str
) -> None:
    """A booking moved: one "rescheduled" e-mail to the customer, with the .ics that moves the
    event already in their calendar (same UID, higher SEQUENCE), and one to the provider.
    Held back, like the booking's other messages, while it awaits online payment."""
    await queue_webhook_event(conn, after, "booking.rescheduled", previous=before)
    held = after.payment_status is PaymentStatus.AWAITING_PAYMENT
    await queue_caldav_push(conn, after)
    moved_by = {"moved_by": actor}
    await _to_customer(
        conn,
        after,
        "booking_rescheduled",
        held=held,
        with_calendar=True,
        extra=previous_times(before, customer_zone(after)) | moved_by,
        occurrence=after.ical_sequence,
    )
    await _to_provider(
        conn,
        after,
        "booking_rescheduled_provider",
        held=held,
        extra=previous_times(before, provider_zone(after)) | moved_by,
        occurrence=after.ical_sequence,
    )


async def _queue_cancellation(
    conn: asyncpg.Connection,
    before: Appointment,
    after: Appointment,
    *,
    actor: str,
    unpaid: bool,
) -> None:
    if actor == "customer":
        await _to_customer(conn, after, "booking_cancelled_receipt")
        if not unpaid:
            await _to_provider(conn, after, "booking_cancelled_by_customer")
    elif actor == "provider":
        await _to_customer(conn, after, "booking_cancelled")
    elif unpaid:
        # The payment hold ran out. No checkout session means Stripe never started and the
        # customer was already told so by the booking request itself.
        if before.stripe_checkout_session_id is not None:
            await _to_customer(conn, after, "booking_not_completed")
    else:
        await _to_customer(conn, after, "booking_cancelled")


async def _to_customer(
    conn: asyncpg.Connection,
    appointment: Appointment,
    kind: str,
    *,
    held: bool = False,
    with_calendar: bool = False,
    extra: dict[str, str] | None = None,
    occurrence: int | None = None,
) -> None:
    context = appointment_context(appointment, customer_zone(appointment)) | (extra or {})
    await queue_email(
        conn,
        kind=kind,
        to=appointment.customer_email,
        context=context,
        dedupe_key=f"appointment:{appointment.id}:{_event(kind, occurrence)}:customer",
        appointment_id=appointment.id,
        user_id=appointment.customer_user_id,
        held=held,
        attachments=[calendar_attachment(appointment)] if with_calendar else (),
    )


async def _to_provider(
    conn: asyncpg.Connection,
    appointment: Appointment,
    kind: str,
    *,
    held: bool = False,
    extra: dict[str, str] | None = None,
    occurrence: int | None = None,
) -> None:
    email = await provider_email(conn, appointment.provider_user_id)
    context = appointment_context(appointment, provider_zone(appointment)) | (extra or {})
    await queue_email(
        conn,
        kind=kind,
        to=email,
        context=context,
        dedupe_key=f"appointment:{appointment.id}:{_event(kind, occurrence)}:provider",
        appointment_id=appointment.id,
        user_id=appointment.provider_user_id,
        held=held,
    )


def _event(kind: str, occurrence: int | None) -> str:
    """The event part of a dedupe key: the kind, and which time it happened when it can
    happen more than once to one booking (a move, a confirmation after a move)."""
    return kind if occurrence is None else f"{kind}:{occurrence}"


async def provider_email(conn: asyncpg.Connection, provider_user_id: UUID) -> str:
    """The provider's address: their user account's e-mail."""
    email: str = await conn.fetchval("SELECT email FROM users WHERE id = $1", provider_user_id)
    return email
