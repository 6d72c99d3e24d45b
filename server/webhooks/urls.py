"""Where a webhook may point: http(s) only, and in production never at this machine or a
private network (a provider must not make our worker reach internal services: SSRF). What
counts as public is the busy calendars' rule (server.calendars.public_urls)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from server.calendars.public_urls import is_public
from server.domain.rules import RuleBroken

MAX_URL_LENGTH = 2000


def check_webhook_url(url: str, *, production: bool) -> str:
    """The URL as given when it may be used; RuleBroken `invalid_url` otherwise. In
    production a host written as an address must be a public one (names are checked again,
    resolved, before each delivery: server.calendars.public_urls.check_public_host, the
    busy calendars' check)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a bracketed host that is no IPv6 address
        raise _invalid("That is not a valid address.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        raise _invalid("Give an http:// or https:// address.")
    if parts.username or parts.password:
        raise _invalid("Leave user names and passwords out of the address.")
    if production:
        if parts.hostname.lower() == "localhost" or parts.hostname.lower().endswith(".localhost"):
            raise _invalid("That address is not reachable from the internet.")
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return url
        if not is_public(address):
            raise _invalid("That address is not reachable from the internet.")
    return url


def _invalid(message: str) -> RuleBroken:
    return RuleBroken("invalid_url", message, fields={"url": message})
