"""Rules for a service's fields: what a provider may set, normalised for storage. No I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from server.domain.hours import HoursError, hours_to_json, parse_hours
from server.domain.rules import RuleBroken

MAX_PRICE_CENTS = 100_000_000  # a sanity bound well inside the integer column
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")

# Fields that change which slots exist; changing any of them regenerates future slots.
SLOT_SHAPING_FIELDS = frozenset(
    {"hours", "duration_minutes", "max_appointments_per_day", "buffer_minutes", "horizon_days"}
)
# The availability rules' bounds (sql/0009 holds the same ones).
MAX_BUFFER_MINUTES = 240
MAX_NOTICE_MINUTES = 43_200
MAX_HORIZON_DAYS = 365
MAX_CANCEL_CUTOFF_MINUTES = 43_200
# Fields that may be null: category and location (none), horizon_days (SLOT_HORIZON_DAYS).
NULLABLE_FIELDS = frozenset({"category", "location", "horizon_days"})
REQUIRED_FIELDS = frozenset(
    {"name", "price_cents", "currency", "duration_minutes", "max_appointments_per_day", "hours"}
)


def _name(value: Any) -> Any:
    name = " ".join(str(value).split())
    if not 1 <= len(name) <= 200:
        raise ValueError("Give the service a name of 1 to 200 characters.")
    return name


def _description(value: Any) -> Any:
    description = str(value).strip()
    if len(description) > 5000:
        raise ValueError("At most 5000 characters.")
    return description


def _optional_text(limit: int) -> Callable[[Any], Any]:
    def clean(value: Any) -> Any:
        if value is None or not str(value).strip():
            return None
        text = " ".join(str(value).split())
        if len(text) > limit:
            raise ValueError(f"At most {limit} characters.")
        return text

    return clean


def _bounded_int(low: int, high: int, unit: str) -> Callable[[Any], Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("A whole number.")
        if not low <= value <= high:
            raise ValueError(f"Between {low} and {high} {unit}.")
        return value

    return clean


def _currency(value: Any) -> Any:
    if not isinstance(value, str) or not _CURRENCY.match(value.strip()):
        raise ValueError("A three-letter ISO currency code such as GBP.")
    return value.strip().upper()


def _hours(value: Any) -> Any:
    return hours_to_json(parse_hours(value))


_RULES: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "description": _description,
    "category": _optional_text(100),
    "location": _optional_text(300),
    "price_cents": _bounded_int(0, MAX_PRICE_CENTS, "cents"),
    "currency": _currency,
    "duration_minutes": _bounded_int(5, 480, "minutes"),
    "max_appointments_per_day": _bounded_int(1, 500, "appointments"),
    "hours": _hours,
    "buffer_minutes": _bounded_int(0, MAX_BUFFER_MINUTES, "minutes"),
    "min_notice_minutes": _bounded_int(0, MAX_NOTICE_MINUTES, "minutes"),
    "horizon_days": _bounded_int(1, MAX_HORIZON_DAYS, "days"),
    "cancel_cutoff_minutes": _bounded_int(0, MAX_CANCEL_CUTOFF_MINUTES, "minutes"),
}


def clean_service_fields(raw: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate and normalise the given fields; 422 `validation_error` naming every bad one.

    When creating, the required fields must all be there; when updating, any subset may be.
    Only category, location and horizon_days (then SLOT_HORIZON_DAYS applies) may be null.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if creating:
        for field in sorted(REQUIRED_FIELDS - raw.keys()):
            errors[field] = "This field is required."
    for field, value in raw.items():
        rule = _RULES.get(field)
        if rule is None:
            errors[field] = "Unknown field."
            continue
        if value is None and field in NULLABLE_FIELDS:
            cleaned[field] = None
            continue
        if value is None:
            errors[field] = "This field cannot be null."
            continue
        try:
            cleaned[field] = rule(value)
        except HoursError as error:
            errors.update(error.fields)
        except ValueError as error:
            errors[field] = str(error)
    if errors:
        raise RuleBroken("validation_error", "Some fields are missing or invalid.", fields=errors)
    if creating:
        cleaned.setdefault("description", "")
    return cleaned
