"""The waitlist's JSON shapes as the OpenAPI document shows them (API.md's WaitlistEntry and
the envelopes around it); WaitlistEntry.to_json builds the bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from server.routes.shapes import Slot

WaitlistStatusName = Literal["waiting", "offered", "booked", "expired", "left"]


class WaitlistOffer(BaseModel):
    slot: Slot = Field(description="The slot held for this entry (not available to others).")
    expires_at: datetime = Field(description="Book it before this moment, or it passes on.")


class WaitlistEntry(BaseModel):
    id: UUID
    service_id: UUID
    date: date
    position: int | None = Field(
        ge=1, description="Place among the day's waiting entries, from 1; null unless waiting."
    )
    status: WaitlistStatusName
    offer: WaitlistOffer | None = Field(description="The held slot while `offered`, else null.")
    created_at: datetime
    service_name: str
    business_name: str
    timezone: str = Field(description="The provider's IANA time zone.")
    customer_timezone: str | None
    booking_id: UUID | None = Field(description="The booking a claimed offer became.")


class WaitlistEntryEnvelope(BaseModel):
    entry: WaitlistEntry


class WaitlistJoined(BaseModel):
    entry: WaitlistEntry
    manage_url: str = Field(description="The customer's own link to their place in line.")


class ProviderWaitlistEntry(WaitlistEntry):
    customer_name: str
    customer_email: str
    customer_phone: str | None


class WaitingCount(BaseModel):
    date: date
    waiting: int = Field(ge=1, description="Entries waiting or holding an offer that day.")


class ProviderWaitlist(BaseModel):
    date: date
    entries: list[ProviderWaitlistEntry]
    days: list[WaitingCount] = Field(description="Days with people in line, from `date` on.")
