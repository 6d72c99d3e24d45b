"""Where a webhook may point: http(s) only, and in production never at this machine or a
private network (a provider must not make our worker reach internal services: SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from server.domain.rules import RuleBroken

MAX_URL_LENGTH = 2000


def check_webhook_url(url: str, *, production: bool) -> str:
    """The URL as given when it may be used; RuleBroken `invalid_url` otherwise. In
    production a host written as an address must be a public one (names are checked again,
    resolved, before each delivery: `check_resolves_publicly`)."""
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
        if not _public(address):
            raise _invalid("That address is not reachable from the internet.")
    return url


async def check_resolves_publicly(url: str) -> str | None:
    """Why the URL's host must not be called (it resolves to a loopback, link-local or private
    address, or not at all), or None when every address it resolves to is public."""
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        return f"cannot resolve {host}: {error}"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _public(address):
            return f"{host} resolves to a non-public address ({address})"
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not address.is_multicast


def _invalid(message: str) -> RuleBroken:
    return RuleBroken("invalid_url", message, fields={"url": message})
