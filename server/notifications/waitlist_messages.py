"""The message a waitlist offer sends: one e-mail with the link to claim the held slot, and a
text message when the customer gave a phone number and SMS is configured.

Queued in the transaction that makes the offer, so it exists exactly when the offer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.dates import format_day
from server.notifications.outbox import queue_email, queue_sms


@dataclass(frozen=True)
class OfferNotice:
    """Who is offered which time, until when, and the link that claims it."""

    entry_id: UUID
    slot_id: UUID
    customer_name: str
    customer_email: str
    customer_phone: str | None
    # The customer's zone when they gave one, else the provider's (where the visit happens).
    zone: ZoneInfo
    service_name: str
    business_name: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    claim_url: str


async def queue_offer_messages(conn: asyncpg.Connection, notice: OfferNotice, *, sms: bool) -> None:
    starts = notice.starts_at.astimezone(notice.zone)
    context = {
        "customer_name": notice.customer_name,
        "customer_email": notice.customer_email,
        "service_name": notice.service_name,
        "business_name": notice.business_name,
        "day": format_day(starts),
        "start_time": f"{starts:%H:%M}",
        "end_time": f"{notice.ends_at.astimezone(notice.zone):%H:%M}",
        "expires_at": f"{notice.expires_at.astimezone(notice.zone):%H:%M}",
        "timezone": notice.zone.key,
        "claim_url": notice.claim_url,
    }
    # One message per offer: the same slot offered to the same entry again is not news.
    dedupe_key = f"waitlist:{notice.entry_id}:offer:{notice.slot_id}"
    await queue_email(
        conn,
        kind="waitlist_offer",
        to=notice.customer_email,
        context=context,
        dedupe_key=dedupe_key,
        carries_secret=True,
    )
    if sms and notice.customer_phone:
        await queue_sms(
            conn,
            kind="waitlist_offer",
            to=notice.customer_phone,
            context=context,
            dedupe_key=f"{dedupe_key}:sms",
        )
