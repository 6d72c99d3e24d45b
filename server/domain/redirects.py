"""Where we may send a browser after signing in: only to a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_NEXT_LENGTH = 2000


def local_path(raw: str | None) -> str | None:
    """`raw` if it is a path on this site, else None (no open redirects)."""
    if not raw or len(raw) > MAX_NEXT_LENGTH or not raw.startswith("/"):
        return None
    # Browsers read "\" as "/" and drop tabs and newlines, so "/\evil" or "/\t/evil" would
    # become the protocol-relative "//evil"; refuse those characters anywhere.
    if (
        raw.startswith("//")
        or "\\" in raw
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in raw)
    ):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw
