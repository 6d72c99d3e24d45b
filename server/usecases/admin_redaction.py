"""What of a URL the operator may see: its origin. A private iCal feed's path, a chat
webhook's path or a query string is often the secret that opens it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def url_origin(url: str) -> str:
    """`https://calendar.example.com/private-abc/basic.ics` → `https://calendar.example.com`
    (credentials in the netloc are dropped too)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not parts.scheme or not host:
        return "(not a URL)"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number: leave it out
        port = ""
    return f"{parts.scheme}://{host}{port}"


def redact_urls(text: str | None) -> str | None:
    """An error text with every URL in it cut down to its origin."""
    if text is None:
        return None
    return _URL.sub(lambda match: url_origin(match[0]), text)
