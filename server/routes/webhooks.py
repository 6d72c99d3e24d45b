"""Stripe's webhook endpoint."""

from __future__ import annotations

import logging

import stripe
from pydantic import ValidationError
from quart import Blueprint, Response, request

from server.edge.api_docs import errors, responds
from server.edge.errors import APIError
from server.infra.jsonio import json_response
from server.infra.state import config, db
from server.payments.stripe_api import payments_disabled
from server.routes import shapes
from server.routes.after_commit import run_after_commit
from server.usecases.webhook_events import StripeEvent, apply_event

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__)

# Stripe's own default: a signature older than five minutes is a replay.
SIGNATURE_TOLERANCE_SECONDS = 300


@blueprint.post("/webhooks/stripe")
@responds(200, shapes.WebhookReceived)
@errors(400, 409)
async def post_stripe_webhook() -> Response:
    """Receive a Stripe event, signed in the Stripe-Signature header with one of the secrets
    in STRIPE_WEBHOOK_SECRET (the platform endpoint's or the Connect endpoint's).

    Each event id takes effect once: a redelivered event is acknowledged and changes nothing.
    An event of the other mode than the secret key's (live vs test) is acknowledged and ignored.
    """
    settings = config()
    secrets = settings.stripe_webhook_secrets
    if not secrets:
        raise payments_disabled()
    payload = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    _verify_signature(payload, request.headers.get("Stripe-Signature"), secrets)
    event = _parse_event(payload)
    if event.livemode is not None and event.livemode != settings.stripe_livemode:
        log.warning(
            "ignored Stripe event %s (%s): livemode=%s, but the key is a %s key",
            event.id,
            event.type,
            event.livemode,
            "live" if settings.stripe_livemode else "test",
        )
        return json_response({"received": True})
    effects = await apply_event(await db(), event)
    if effects is None:
        log.info("Stripe event %s (%s) was already handled", event.id, event.type)
    else:
        await run_after_commit(effects)
    return json_response({"received": True})


def _verify_signature(payload: bytes, header: str | None, secrets: tuple[str, ...]) -> None:
    """Accept the payload when any configured secret verifies it; 400 `bad_signature` if none."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = ""  # verifies against no secret
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, SIGNATURE_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            continue
        return
    raise APIError(400, "bad_signature", "The Stripe-Signature header does not verify.")


def _parse_event(payload: bytes) -> StripeEvent:
    try:
        return StripeEvent.model_validate_json(payload)
    except ValidationError:
        raise APIError(400, "invalid_payload", "The body is not a Stripe event.") from None
