"""Which busy-calendar addresses the server may fetch (SSRF).

Syntax first: http or https, a host, no user:password, at most 2000 characters. In production
the host is also resolved and every address it resolves to must be public: loopback, private,
link-local (cloud metadata lives there), shared, reserved, multicast and unspecified addresses
are refused. The worker checks again right before each fetch (and each redirect), so a name
that later resolves somewhere private is refused then too.
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from server.domain.rules import RuleBroken

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0


def check_url_syntax(url: str) -> str:
    """The URL, stripped, or RuleBroken('invalid_url')."""
    cleaned = url.strip()
    if not 8 <= len(cleaned) <= MAX_URL_LENGTH:
        raise RuleBroken(
            "invalid_url", f"A calendar address must be 8 to {MAX_URL_LENGTH} characters."
        )
    try:
        parts = urlsplit(cleaned)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise RuleBroken("invalid_url", "That is not a valid address.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuleBroken("invalid_url", "A calendar address must start with http:// or https://.")
    if parts.username is not None or parts.password is not None:
        raise RuleBroken(
            "invalid_url", "A calendar address must not carry a user name or password."
        )
    return cleaned


def is_public(address: IPv4Address | IPv6Address) -> bool:
    """Whether an address is on the public Internet (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def check_public_host(url: str) -> None:
    """RuleBroken('address_not_allowed') unless every address the URL's host resolves to is
    public; RuleBroken('unknown_host') when it resolves to none."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [ip_address(host)]
    except ValueError:
        addresses = await _resolve(host)
    if not addresses:
        raise RuleBroken("unknown_host", f"{host} could not be found.")
    if not all(is_public(address) for address in addresses):
        raise RuleBroken(
            "address_not_allowed",
            "That address points inside a private network; use the calendar's public address.",
        )


async def _resolve(host: str) -> list[IPv4Address | IPv6Address]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    found: list[IPv4Address | IPv6Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            found.append(ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            continue
    return found
