"""The stand-in's Checkout Sessions, PaymentIntents and Refunds (see stripe_stub.py).

Requests are checked as Stripe checks them (required fields, a session's lifetime between 30
minutes and 24 hours, only an open session can be expired, a charge refunded at most once).
A customer paying, or Stripe expiring a session, is a test-side call here (`complete_payment`,
`expire_session`) that returns the object a webhook event then carries.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from tests.support.stripe_stub import Form, StripeRequestError, _new_id, _require

if TYPE_CHECKING:
    from tests.support.stripe_stub import Handler, StripeStandIn

Answer = tuple[int, dict[str, Any]]
MIN_LIFETIME = 30 * 60
MAX_LIFETIME = 24 * 60 * 60


def checkout_routes(stand_in: StripeStandIn) -> list[tuple[str, re.Pattern[str], Handler]]:
    session = r"/v1/checkout/sessions/(?P<id>cs_\w+)"

    async def create(match: re.Match[str], form: Form) -> Answer:
        return 200, _create_session(stand_in, form)

    async def retrieve(match: re.Match[str], form: Form) -> Answer:
        return 200, _session(stand_in, match["id"])

    async def expire(match: re.Match[str], form: Form) -> Answer:
        _session(stand_in, match["id"])
        found = stand_in.checkout_sessions[match["id"]]
        if found["status"] != "open":
            raise StripeRequestError(
                400, 'Only Checkout Sessions with a status in ["open"] can be expired.'
            )
        found["status"] = "expired"
        return 200, _public(found)

    async def refund(match: re.Match[str], form: Form) -> Answer:
        return 200, _create_refund(stand_in, form)

    async def retrieve_intent(match: re.Match[str], form: Form) -> Answer:
        intent = stand_in.payment_intents.get(match["id"])
        if intent is None:
            raise StripeRequestError(
                404,
                f"No such payment_intent: '{match['id']}'",
                param="intent",
                code="resource_missing",
            )
        return 200, _public(intent)

    return [
        ("POST", re.compile(r"/v1/checkout/sessions"), create),
        ("GET", re.compile(session), retrieve),
        ("POST", re.compile(session + "/expire"), expire),
        ("POST", re.compile(r"/v1/refunds"), refund),
        ("GET", re.compile(r"/v1/payment_intents/(?P<id>pi_\w+)"), retrieve_intent),
    ]


def _create_session(stand_in: StripeStandIn, form: Form) -> dict[str, Any]:
    _require(form, "mode", "success_url", "line_items")
    now = int(time.time())
    expires_at = int(form.get("expires_at") or now + MAX_LIFETIME)
    if not now + MIN_LIFETIME <= expires_at <= now + MAX_LIFETIME:
        raise StripeRequestError(
            400,
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from creation.",
            param="expires_at",
        )
    amount = sum(
        int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
        for item in form["line_items"]
    )
    intent_data = form.get("payment_intent_data", {})
    destination = intent_data.get("transfer_data", {}).get("destination")
    if destination is not None:
        stand_in._account(destination, param="payment_intent_data[transfer_data][destination]")
    fee = int(intent_data.get("application_fee_amount", 0))
    if fee > amount:
        raise StripeRequestError(
            400, "The application fee cannot exceed the amount.", param="application_fee_amount"
        )
    session_id = _new_id("cs_test")
    session: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "mode": form["mode"],
        "status": "open",
        "payment_status": "unpaid",
        "url": f"{stand_in.url}/c/pay/{session_id}",
        "client_reference_id": form.get("client_reference_id"),
        "customer_email": form.get("customer_email"),
        "metadata": form.get("metadata", {}),
        "amount_total": amount,
        "currency": form["line_items"][0]["price_data"]["currency"],
        "payment_intent": None,
        "success_url": form["success_url"],
        "cancel_url": form.get("cancel_url"),
        "expires_at": expires_at,
        "created": now,
        "livemode": False,
    }
    stand_in.checkout_sessions[session_id] = session
    stand_in.checkout_sessions[session_id]["_payment_intent_data"] = intent_data
    return _public(session)


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def _session(stand_in: StripeStandIn, session_id: str) -> dict[str, Any]:
    found = stand_in.checkout_sessions.get(session_id)
    if found is None:
        raise StripeRequestError(
            404,
            f"No such checkout.session: '{session_id}'",
            param="session",
            code="resource_missing",
        )
    return _public(found)


def complete_payment(
    stand_in: StripeStandIn, session_id: str, *, delayed: bool = False
) -> dict[str, Any]:
    """The customer pays on the hosted page: the session completes with a PaymentIntent; the
    session as `checkout.session.completed` carries it. `delayed`: a method such as SEPA Direct
    Debit, whose money arrives days later: the session completes `unpaid` and the PaymentIntent
    is `processing` until `settle_delayed_payment`."""
    session = stand_in.checkout_sessions[session_id]
    assert session["status"] == "open", f"cannot pay a {session['status']} session"
    intent_data = session["_payment_intent_data"]
    intent_id = _new_id("pi")
    stand_in.payment_intents[intent_id] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": session["amount_total"],
        "currency": session["currency"],
        "status": "succeeded",
        "latest_charge": _new_id("ch"),
        "amount_refunded": 0,
        "transfer_group": intent_data.get("transfer_group"),
        "application_fee_amount": intent_data.get("application_fee_amount"),
        "metadata": intent_data.get("metadata", {}),
    }
    session.update(status="complete", payment_status="paid", payment_intent=intent_id)
    if delayed:
        stand_in.payment_intents[intent_id]["status"] = "processing"
        session["payment_status"] = "unpaid"
    return _public(session)


def settle_delayed_payment(
    stand_in: StripeStandIn, session_id: str, *, succeeded: bool
) -> dict[str, Any]:
    """A delayed payment ends: the session as `checkout.session.async_payment_succeeded` (or
    `…_failed`) carries it."""
    session = stand_in.checkout_sessions[session_id]
    intent = stand_in.payment_intents[session["payment_intent"]]
    assert intent["status"] == "processing", f"the payment is {intent['status']}"
    intent["status"] = "succeeded" if succeeded else "requires_payment_method"
    session["payment_status"] = "paid" if succeeded else "unpaid"
    return _public(session)


def expire_session(stand_in: StripeStandIn, session_id: str) -> dict[str, Any]:
    """Stripe expires the session itself (its expires_at passed); for `checkout.session.expired`."""
    session = stand_in.checkout_sessions[session_id]
    assert session["status"] == "open", f"cannot expire a {session['status']} session"
    session["status"] = "expired"
    return _public(session)


def _create_refund(stand_in: StripeStandIn, form: Form) -> dict[str, Any]:
    _require(form, "payment_intent")
    intent = stand_in.payment_intents.get(form["payment_intent"])
    if intent is None:
        raise StripeRequestError(
            404,
            f"No such payment_intent: '{form['payment_intent']}'",
            param="payment_intent",
            code="resource_missing",
        )
    if intent["amount_refunded"] >= intent["amount"]:
        raise StripeRequestError(
            400,
            f"Charge {intent['latest_charge']} has already been refunded.",
            code="charge_already_refunded",
        )
    amount = int(form.get("amount", intent["amount"] - intent["amount_refunded"]))
    intent["amount_refunded"] += amount
    refund = {
        "id": _new_id("re"),
        "object": "refund",
        "amount": amount,
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "charge": intent["latest_charge"],
        "status": "succeeded",
        "metadata": form.get("metadata", {}),
        "created": int(time.time()),
    }
    stand_in.refunds[refund["id"]] = {**refund, "_form": form}
    return refund


def refunded_charge(stand_in: StripeStandIn, intent_id: str) -> dict[str, Any]:
    """The Charge of a PaymentIntent as `charge.refunded` carries it."""
    intent = stand_in.payment_intents[intent_id]
    refunds = [_public(r) for r in stand_in.refunds.values() if r["payment_intent"] == intent_id]
    return {
        "id": intent["latest_charge"],
        "object": "charge",
        "amount": intent["amount"],
        "amount_refunded": intent["amount_refunded"],
        "currency": intent["currency"],
        "payment_intent": intent_id,
        "refunded": intent["amount_refunded"] >= intent["amount"],
        "refunds": {"object": "list", "data": list(reversed(refunds))},
    }


def refund_stripe_side(stand_in: StripeStandIn, intent_id: str) -> dict[str, Any]:
    """Someone refunds from Stripe's dashboard; returns the refunded Charge."""
    _create_refund(stand_in, {"payment_intent": intent_id})
    return refunded_charge(stand_in, intent_id)
