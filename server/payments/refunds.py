"""Stripe refunds: the one API call that gives a booking's payment back.

What to refund and when (requests, retries, bookkeeping) is server.usecases.refunds; this
module only asks Stripe and says what Stripe answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from server.models.refunds import Refund


@dataclass(frozen=True)
class RefundOutcome:
    succeeded: bool
    stripe_refund_id: str | None = None
    error: str | None = None
    # Stripe answered (with an error): it remembers that answer under the idempotency key, so
    # the next attempt needs a new key. False after a network error, when the request may have
    # reached Stripe and only the same key makes a retry safe.
    stripe_answered: bool = False


def idempotency_key(refund: Refund) -> str:
    """The key this attempt sends: the refund's stored one, else the first one."""
    return refund.stripe_idempotency_key or f"appointly-refund-{refund.appointment_id}"


def next_idempotency_key(refund: Refund) -> str:
    """A fresh key for the attempt after an error answer to attempt number `refund.attempts`."""
    return f"appointly-refund-{refund.appointment_id}-{refund.attempts + 1}"


def refund_params(refund: Refund) -> dict[str, Any]:
    """A full refund that also takes the money back from the provider and returns our fee."""
    return {
        "payment_intent": refund.payment_intent_id,
        "reverse_transfer": True,
        "refund_application_fee": True,
        "metadata": {"appointment_id": str(refund.appointment_id)},
    }


async def create_stripe_refund(client: stripe.StripeClient, refund: Refund) -> RefundOutcome:
    """Ask Stripe for the refund; never raises for a Stripe failure."""
    try:
        made = await client.v1.refunds.create_async(
            params=refund_params(refund),  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key(refund)},
        )
    except stripe.InvalidRequestError as error:
        if error.code == "charge_already_refunded":
            return RefundOutcome(succeeded=True)  # refunded already, e.g. from the dashboard
        return RefundOutcome(succeeded=False, error=_describe(error), stripe_answered=True)
    except stripe.APIConnectionError as error:
        return RefundOutcome(succeeded=False, error=_describe(error))
    except stripe.StripeError as error:
        return RefundOutcome(succeeded=False, error=_describe(error), stripe_answered=True)
    if made.status in ("failed", "canceled"):
        return RefundOutcome(
            succeeded=False, error=f"Stripe refund {made.id} is {made.status}", stripe_answered=True
        )
    return RefundOutcome(succeeded=True, stripe_refund_id=made.id)


def _describe(error: stripe.StripeError) -> str:
    status = error.http_status or "no answer"
    return f"{type(error).__name__} ({status}): {error.user_message or error}"
