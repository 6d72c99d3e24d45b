"""What each Stripe event does to our data, applied at most once per event id."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from server.models import providers, stripe_events
from server.usecases.checkout_events import (
    async_payment_succeeded,
    charge_refunded,
    checkout_session_completed,
    checkout_session_expired,
)
from server.usecases.effects import Effects

log = logging.getLogger(__name__)

EventObject = dict[str, Any]
EventHandler = Callable[[asyncpg.Connection, EventObject, Effects], Awaitable[None]]


class EventData(BaseModel):
    object: EventObject


class StripeEvent(BaseModel):
    """The parts of a Stripe Event we rely on; everything else is ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=255)
    data: EventData
    # Live or test mode; an event of the other mode than our key's is ignored.
    livemode: bool | None = None


async def account_updated(conn: asyncpg.Connection, account: EventObject, effects: Effects) -> None:
    """A Connect account changed: mirror whether it can take charges."""
    account_id = account.get("id")
    if not isinstance(account_id, str):
        log.warning("account.updated without an account id")
        return
    charges_enabled = account.get("charges_enabled") is True
    if await providers.set_charges_enabled_by_account(conn, account_id, charges_enabled) is None:
        log.info("account.updated for %s, which no provider has", account_id)


async def record_only(
    conn: asyncpg.Connection, event_object: EventObject, effects: Effects
) -> None:
    """An event we accept and remember but do not act on."""


# Event type → its effect. Types not listed here are recorded and otherwise ignored.
HANDLERS: dict[str, EventHandler] = {
    "account.updated": account_updated,
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.expired": checkout_session_expired,
    # Delayed payment methods (SEPA, ACH, Bacs…): completed unpaid first, then one of these.
    "checkout.session.async_payment_succeeded": async_payment_succeeded,
    "checkout.session.async_payment_failed": checkout_session_expired,
    "charge.refunded": charge_refunded,
}


async def apply_event(conn: asyncpg.Connection, event: StripeEvent) -> Effects | None:
    """Record the event and apply its effect in one transaction; None for a redelivery.

    The caller runs the returned Effects once this has returned (committed).
    """
    handler = HANDLERS.get(event.type, record_only)
    effects = Effects()
    async with conn.transaction():
        if not await stripe_events.insert_stripe_event(conn, event.id, event.type):
            return None
        await handler(conn, event.data.object, effects)
    return effects
