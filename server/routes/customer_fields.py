"""The customer's details as a booking and a waitlist join take them (documented exactly as
server/domain/bookings.clean_customer_details checks them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.routes import documented_rules as rules


class CustomerFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_name: str = Field(min_length=1, max_length=200, json_schema_extra=rules.NAME)
    customer_email: str = Field(min_length=3, max_length=254, json_schema_extra=rules.EMAIL)
    customer_phone: str | None = Field(default=None, max_length=40, json_schema_extra=rules.PHONE)
    customer_timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone the customer's times are shown in.",
        json_schema_extra=rules.timezone_field(64),
    )
