"""Rules for provider details: business names, slugs, time zones, phone numbers."""

from __future__ import annotations

import re
import unicodedata

from server.domain.rules import RuleBroken
from server.domain.zones import is_timezone

_PHONE = re.compile(r"^\+?[0-9 ().-]{5,40}$")


def check_timezone(name: str) -> str:
    """An IANA zone name such as Europe/London; 422 `invalid_timezone` otherwise."""
    if not is_timezone(name):
        raise RuleBroken(
            "invalid_timezone",
            f"{name!r} is not an IANA time zone.",
            fields={"timezone": "Choose a time zone such as Europe/London."},
        )
    return name


def clean_business_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not 1 <= len(name) <= 200:
        raise RuleBroken(
            "invalid_business_name",
            "Give your business a name.",
            fields={"business_name": "Between 1 and 200 characters."},
        )
    return name


def clean_phone(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    phone = raw.strip()
    if not _PHONE.match(phone):
        raise RuleBroken(
            "invalid_phone",
            "That doesn't look like a phone number.",
            fields={"phone": "Digits, spaces and + ( ) - only."},
        )
    return phone


def slugify(name: str) -> str:
    """A URL-safe slug: "Café Zoë & Co" → "cafe-zoe-co"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].strip("-") or "provider"
