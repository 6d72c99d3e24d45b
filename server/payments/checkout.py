"""Stripe Checkout for a booking: a destination charge to the provider's Connect account.

Only the Stripe calls: opening a session, closing one, and asking where a payment stands.
Never called inside a database transaction. Opening carries an idempotency key derived from the
appointment, so a retried request (ours, the SDK's, or a replayed booking) never opens a second
session but gets the first one back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import stripe

from server.domain.bookings import application_fee
from server.infra.config import Config
from server.models.appointments import Appointment
from server.payments.stripe_api import stripe_client

log = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than this; our own hold is usually
# shorter, so expire_holds closes the session at Stripe when the hold runs out.
MIN_SESSION_LIFETIME = timedelta(minutes=30)
SESSION_MARGIN = timedelta(seconds=60)


class CheckoutUnavailable(Exception):
    """Stripe could not open (or close) a session; the caller undoes or retries."""


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


class SessionState(Enum):
    """Where a Checkout Session stands once we asked Stripe to close it."""

    CLOSED = "closed"  # expired: nobody can pay on it any more
    PAID = "paid"  # completed and the money is there
    PROCESSING = "processing"  # completed with a delayed method whose payment is under way
    FAILED = "failed"  # completed, but the delayed payment failed


@dataclass(frozen=True)
class ClosedSession:
    state: SessionState
    payment_intent_id: str | None = None


def session_expires_at(created: datetime) -> datetime:
    """When Stripe itself expires a session we opened at `created` (see checkout_params)."""
    return created + MIN_SESSION_LIFETIME + SESSION_MARGIN


def checkout_params(
    appointment: Appointment,
    *,
    manage_url: str,
    destination_account: str,
    fee_percent: float,
    now: datetime,
) -> dict[str, object]:
    """The Checkout Session the contract describes: a destination charge to the provider, the
    platform's fee, and the appointment's id as client reference, metadata and transfer group."""
    appointment_id = str(appointment.id)
    local_start = appointment.starts_at.astimezone(appointment.zone)
    payment_intent: dict[str, object] = {
        "transfer_group": appointment_id,
        "transfer_data": {"destination": destination_account},
        "metadata": {"appointment_id": appointment_id},
    }
    fee = application_fee(appointment.price_cents, fee_percent)
    if fee > 0:
        payment_intent["application_fee_amount"] = fee
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": appointment.currency.lower(),
                    "unit_amount": appointment.price_cents,
                    "product_data": {
                        "name": appointment.service_name,
                        "description": (
                            f"{appointment.business_name} · "
                            f"{local_start:%a %d %b %Y, %H:%M} ({appointment.timezone})"
                        ),
                    },
                },
            }
        ],
        "customer_email": appointment.customer_email,
        "client_reference_id": appointment_id,
        "metadata": {"appointment_id": appointment_id},
        "payment_intent_data": payment_intent,
        "success_url": f"{manage_url}&checkout=success",
        "cancel_url": f"{manage_url}&checkout=cancelled",
        "expires_at": int(session_expires_at(now).timestamp()),
    }


async def start_checkout(
    appointment: Appointment,
    *,
    manage_url: str,
    destination_account: str,
    settings: Config,
    client: stripe.StripeClient | None = None,
    now: datetime | None = None,
) -> CheckoutSession:
    """Open the session the customer pays on; CheckoutUnavailable when Stripe fails."""
    client = client or stripe_client()
    params = checkout_params(
        appointment,
        manage_url=manage_url,
        destination_account=destination_account,
        fee_percent=settings.platform_fee_percent,
        now=now or appointment.booked_at,
    )
    try:
        session = await client.v1.checkout.sessions.create_async(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"appointly-checkout-{appointment.id}"},
        )
    except stripe.StripeError as error:
        log.warning("could not open a Checkout Session for %s: %s", appointment.id, error)
        raise CheckoutUnavailable(str(error)) from error
    if session.url is None:
        raise CheckoutUnavailable("Stripe returned a session without a URL")
    return CheckoutSession(session_id=session.id, url=session.url)


async def close_session(client: stripe.StripeClient, session_id: str) -> ClosedSession:
    """Expire the session at Stripe so it can no longer be paid, and say where it stands.

    Stripe refuses to expire a session that is not open; then the session (and, for a delayed
    payment, its PaymentIntent) says whether the customer paid. CheckoutUnavailable when Stripe
    cannot be asked (down, slow, refusing our key): the caller tries again later.
    """
    try:
        await client.v1.checkout.sessions.expire_async(session_id)
        return ClosedSession(SessionState.CLOSED)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            log.warning("Checkout Session %s is unknown to Stripe: %s", session_id, error)
            return ClosedSession(SessionState.CLOSED)
        refused = error  # not open any more: find out why below
    except stripe.StripeError as error:
        raise CheckoutUnavailable(str(error)) from error
    log.info("Checkout Session %s could not be expired (%s); asking why", session_id, refused)
    try:
        session = await client.v1.checkout.sessions.retrieve_async(session_id)
        return await _state_of(client, session)
    except stripe.StripeError as error:
        raise CheckoutUnavailable(str(error)) from error


async def _state_of(client: stripe.StripeClient, session: Any) -> ClosedSession:
    intent_id = _id_of(session.payment_intent)
    if session.status != "complete":
        if session.status == "expired":
            return ClosedSession(SessionState.CLOSED, intent_id)
        raise CheckoutUnavailable(f"session {session.id} is still {session.status}")
    if session.payment_status in ("paid", "no_payment_required"):
        return ClosedSession(SessionState.PAID, intent_id)
    if intent_id is None:
        return ClosedSession(SessionState.PROCESSING)
    intent = await client.v1.payment_intents.retrieve_async(intent_id)
    if intent.status == "succeeded":
        return ClosedSession(SessionState.PAID, intent_id)
    if intent.status in ("processing", "requires_capture", "requires_action"):
        return ClosedSession(SessionState.PROCESSING, intent_id)
    return ClosedSession(SessionState.FAILED, intent_id)


def _id_of(value: object) -> str | None:
    """An id field that may arrive as the id or, expanded, as the object."""
    if value is not None and not isinstance(value, str):
        value = getattr(value, "id", None)
    return value if isinstance(value, str) and value else None
