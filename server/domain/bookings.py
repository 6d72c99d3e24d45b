"""Rules for what a customer types into the booking form, and for the price of a booking. No I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from server.domain.accounts import normalise_email
from server.domain.rules import RuleBroken
from server.domain.zones import is_timezone

MAX_NOTES = 2000
MAX_NAME = 200
_PHONE = re.compile(r"^\+?[0-9 ().-]{5,40}$")


@dataclass(frozen=True)
class CustomerDetails:
    name: str
    email: str
    phone: str | None
    notes: str | None
    timezone: str | None


def clean_customer_details(
    *,
    name: str,
    email: str,
    phone: str | None,
    notes: str | None,
    timezone: str | None,
) -> CustomerDetails:
    """Normalise the booking form; 422 `validation_error` naming every field that is wrong."""
    errors: dict[str, str] = {}
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= MAX_NAME:
        errors["customer_name"] = f"Enter your name (1 to {MAX_NAME} characters)."
    clean_email = email.strip()
    try:
        clean_email = normalise_email(email)
    except RuleBroken:
        errors["customer_email"] = "Enter a valid e-mail address."
    clean_phone = (phone or "").strip() or None
    if clean_phone is not None and not _PHONE.match(clean_phone):
        errors["customer_phone"] = "Digits, spaces and + ( ) - only."
    clean_notes = (notes or "").strip() or None
    if clean_notes is not None and len(clean_notes) > MAX_NOTES:
        errors["notes"] = f"At most {MAX_NOTES} characters."
    clean_zone = (timezone or "").strip() or None
    if clean_zone is not None and not is_timezone(clean_zone):
        errors["customer_timezone"] = "An IANA time zone such as Europe/London."
    if errors:
        raise RuleBroken("validation_error", "Some fields are missing or invalid.", fields=errors)
    return CustomerDetails(clean_name, clean_email, clean_phone, clean_notes, clean_zone)


def new_manage_key() -> str:
    """The secret in a booking's manage link: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def hash_manage_key(key: str) -> str:
    """What is stored instead of the key. A fast hash is enough: the key is random, not chosen."""
    return hashlib.sha256(key.encode()).hexdigest()


def manage_key_matches(key: str | None, stored_hash: str | None) -> bool:
    if not key or not stored_hash:
        return False
    return secrets.compare_digest(hash_manage_key(key), stored_hash)


def application_fee(price_cents: int, fee_percent: float) -> int:
    """The platform's cut of a payment, in the same minor units, rounded half up."""
    # Decimal, so 2.5% of 1999 is 49.975 → 50 and not a float's 49.974999….
    fee = Decimal(price_cents) * Decimal(str(fee_percent)) / 100
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))
