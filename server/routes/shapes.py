"""The JSON shapes the API answers with, as the OpenAPI document shows them.

The models' `to_json()` methods build the bodies; these classes describe them (API.md's User,
Provider, Service, Slot and Appointment, and the envelopes around them) and are checked against
real answers by tests/test_openapi_contract.py. Fields past the contract's are the extras the
pages use.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from server.domain.appointments import PaymentStatus, Status


class User(BaseModel):
    id: UUID
    email: str
    name: str
    is_provider: bool
    email_verified: bool = False
    created_at: datetime


class UserEnvelope(BaseModel):
    user: User


class Provider(BaseModel):
    id: UUID
    business_name: str
    slug: str
    timezone: str = Field(description="IANA time zone, e.g. Europe/London.")
    phone: str | None
    stripe_account_id: str | None
    charges_enabled: bool


class ProviderEnvelope(BaseModel):
    provider: Provider


class ConnectLink(BaseModel):
    url: str = Field(description="Stripe's onboarding page; it comes back to /dashboard.")


class ServiceProvider(BaseModel):
    id: UUID
    business_name: str
    slug: str
    timezone: str


class Service(BaseModel):
    id: UUID
    provider: ServiceProvider
    name: str
    description: str
    category: str | None
    location: str | None
    price_cents: int = Field(ge=0)
    currency: str = Field(pattern="^[A-Z]{3}$")
    duration_minutes: int
    max_appointments_per_day: int
    hours: dict[str, list[list[str]]] = Field(
        description='Weekly hours in the provider\'s zone: {"mon": [["09:00", "17:00"]], …}.'
    )
    is_active: bool
    buffer_minutes: int = Field(ge=0, le=240, description="Minutes left free after each slot.")
    min_notice_minutes: int = Field(
        ge=0, le=43200, description="Slots starting sooner than this from now are unavailable."
    )
    horizon_days: int = Field(ge=1, le=366, description="How many days ahead slots exist.")
    cancel_cutoff_minutes: int = Field(
        ge=0, le=43200, description="Customers may cancel until this long before the start."
    )


class ServiceEnvelope(BaseModel):
    service: Service


class ServiceList(BaseModel):
    services: list[Service]


class ServicePage(BaseModel):
    services: list[Service]
    total: int = Field(
        ge=0,
        description="How many services match, over all pages: exact up to 1,000; when "
        "total_is_estimate is true, at least this many (counting stops there).",
    )
    total_is_estimate: bool = Field(
        description="True when more services match than were counted (total is then a floor)."
    )


class Slot(BaseModel):
    id: UUID
    service_id: UUID
    slot_date: date = Field(description="The day in the provider's time zone.")
    start_time: datetime
    end_time: datetime
    token: int = Field(ge=1, description="The slot's position in its day: the number called.")
    available: bool


class SlotList(BaseModel):
    slots: list[Slot]


class AppointmentProvider(BaseModel):
    id: UUID
    business_name: str
    timezone: str


class Appointment(BaseModel):
    id: UUID
    service_id: UUID
    service_name: str
    slot_date: date
    start_time: datetime
    end_time: datetime
    token: int
    status: Status
    payment_status: PaymentStatus
    customer_name: str
    customer_email: str
    customer_phone: str | None
    notes: str | None
    customer_timezone: str | None
    created_at: datetime
    price_cents: int
    currency: str
    location: str | None
    hold_expires_at: datetime | None
    refund_status: str | None = None
    provider: AppointmentProvider


class AppointmentEnvelope(BaseModel):
    appointment: Appointment


class AppointmentList(BaseModel):
    appointments: list[Appointment]


class BookingCreated(BaseModel):
    appointment: Appointment
    checkout_url: str | None = Field(description="Stripe Checkout, when paying online.")
    manage_url: str = Field(description="The customer's own link to see or cancel the booking.")


class WebhookReceived(BaseModel):
    received: Literal[True]


class RealtimeInfo(BaseModel):
    sockets_url: str | None = Field(
        description="The socket tier's origin; null when this origin serves /ws/… itself."
    )


class Health(BaseModel):
    ok: bool
    failing: list[Literal["database", "redis"]] = Field(
        default_factory=list, description="What did not answer (only when ok is false)."
    )


class RescheduleBody(BaseModel):
    """The free slot of the same service to move the booking to (POST …/reschedule)."""

    model_config = ConfigDict(extra="forbid")

    slot_id: UUID = Field(description="A free slot of the booking's service.")
