"""The domain's input rules written as JSON Schema, so /openapi.json says what validation accepts.

The rules themselves live in server/domain (accounts, bookings) and answer with the contract's
codes (`invalid_email`, `weak_password`, `validation_error` naming the field). Request models
only *document* them (pydantic's `json_schema_extra`): enforcing a pattern in the model would
answer quart-schema's generic error first. A generated client that follows the document never
sends what the server refuses, and what the document refuses the server refuses too
(tests/test_documented_rules.py compares each pattern with its rule).

No string may carry a NUL (server/edge/hostile_input.py), so every pattern here leaves it out.
Python's `\\s` (the rules strip with str.strip()) is what these patterns mean by whitespace.
"""

from __future__ import annotations

from typing import Any

from server.domain.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from server.domain.zones import known_timezones

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200

# normalise_email: stripped, then local@domain.tld with no spaces, at most 254 characters (the
# request model enforces the length on what is sent, so no padding can hide in it).
EMAIL: dict[str, Any] = {
    "pattern": r"^\s*[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s.\x00]{2,}\s*$",
    "maxLength": MAX_EMAIL_LENGTH,
}
# check_password: 8 to 1024 characters, taken as typed.
PASSWORD: dict[str, Any] = {
    "pattern": r"^[^\x00]*$",
    "minLength": MIN_PASSWORD_LENGTH,
    "maxLength": MAX_PASSWORD_LENGTH,
}
# clean_name, clean_business_name and the booking form's name: something that is not whitespace
# (runs of whitespace collapse to one space; the model caps what is sent at 200 characters).
NAME: dict[str, Any] = {
    "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$",
    "maxLength": MAX_NAME_LENGTH,
}
# The booking form's and clean_phone's phone (`^\+?[0-9 ().-]{5,40}$` once stripped), or nothing
# but whitespace, which means no phone.
PHONE: dict[str, Any] = {
    "pattern": r"^\s*(?:\+[0-9 ().-]{4,39}[0-9().-]|[0-9().-][0-9 ().-]{3,38}[0-9().-])?\s*$"
}
# Any text (tokens from e-mailed links, a current password): only the NUL is refused.
TEXT: dict[str, Any] = {"pattern": r"^[^\x00]*$"}


def timezone() -> dict[str, Any]:
    """An IANA zone this server knows (check_timezone), exactly as spelled."""
    return {"enum": sorted(known_timezones())}


def timezone_field(max_length: int) -> dict[str, Any]:
    """An IANA zone this server knows (is_timezone), nothing but whitespace (none), or null."""
    return {
        "anyOf": [
            {"type": "string", "enum": sorted(known_timezones())},
            {"type": "string", "pattern": rf"^\s{{0,{max_length}}}$"},
            {"type": "null"},
        ]
    }


def one_of_slot_or_queue() -> dict[str, Any]:
    """A booking names `slot_id` alone, or `service_id` with `date` (queue mode)."""
    null = {"type": "null"}
    return {
        "anyOf": [
            {
                "required": ["slot_id"],
                "properties": {"slot_id": {"type": "string", "format": "uuid"}}
                | {"service_id": null, "date": null},
            },
            {
                "required": ["service_id", "date"],
                "properties": {
                    "slot_id": null,
                    "service_id": {"type": "string", "format": "uuid"},
                    "date": {"type": "string", "format": "date"},
                },
            },
        ]
    }
