"""Stripe Checkout for a booking: a destination charge to the provider's Connect account.

Never called inside a database transaction. Every call carries an idempotency key derived from
the appointment, so a retried request (ours or the SDK's) never opens a second session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe

from server.domain.bookings import application_fee
from server.infra.config import Config
from server.models.appointments import Appointment
from server.payments.stripe_api import stripe_client

log = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than this; our own hold is usually
# shorter, so expire_holds closes the session at Stripe when the hold runs out.
MIN_SESSION_LIFETIME = timedelta(minutes=30)


class CheckoutUnavailable(Exception):
    """Stripe could not open (or close) a session; the caller undoes or retries."""


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


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
        "expires_at": int((now + MIN_SESSION_LIFETIME).timestamp()) + 60,
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
