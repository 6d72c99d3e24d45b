"""Believe `X-Forwarded-For` / `X-Forwarded-Proto` only from the proxies in FORWARDED_ALLOW_IPS.

Hypercorn's ProxyFixMiddleware trusts those headers from every peer, so anyone reaching the
server directly could pick the address the rate limits count. This middleware first checks
that the connection comes from a trusted proxy. It then walks X-Forwarded-For from the right
(each proxy appends the address it saw), skipping trusted proxies, and takes the first address
that is not one of them: a client cannot spoof it by sending the header itself.

The scope is changed in place, so Hypercorn's access log shows the real client too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from server.infra.config import TrustedNetwork

Scope = dict[str, Any]
Address = IPv4Address | IPv6Address


class TrustedProxyHeaders:
    """ASGI middleware around the app (server/app.py wraps `app.asgi_app` with it)."""

    def __init__(self, app: Any, trusted: Sequence[TrustedNetwork]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.trusted and scope["type"] in ("http", "websocket"):
            self._apply_forwarded_headers(scope)
        await self.app(scope, receive, send)

    def _apply_forwarded_headers(self, scope: Scope) -> None:
        peer = scope.get("client")
        if not peer or not self._is_trusted(_parse(peer[0])):
            return
        headers = scope["headers"]
        client = self._forwarded_client(_values(headers, b"x-forwarded-for"))
        if client is not None:
            scope["client"] = (str(client), 0)
        protos = _values(headers, b"x-forwarded-proto")
        # The proxy next to us speaks last; anything but http(s) is not a scheme we serve.
        if protos and protos[-1].lower() in ("http", "https"):
            secure = protos[-1].lower() == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = "https" if secure else "http"

    def client_address(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client of a connection from `peer` whose X-Forwarded-For headers are
        `forwarded_for` (raw values), for servers that are not ASGI (the socket tier)."""
        if not self.trusted or not self._is_trusted(_parse(peer)):
            return peer
        hops = [part.strip() for value in forwarded_for for part in value.split(",")]
        client = self._forwarded_client([hop for hop in hops if hop])
        return peer if client is None else str(client)

    def _forwarded_client(self, hops: list[str]) -> Address | None:
        """The rightmost address that is not a trusted proxy; the leftmost if all are.
        None (keep the peer) if the header is missing or a hop is not an address."""
        found: Address | None = None
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:
                return None
            found = address
            if not self._is_trusted(address):
                return found
        return found

    def _is_trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)


def _parse(text: str) -> Address | None:
    """An address, also as some proxies write it: `203.0.113.7:4711`, `[2001:db8::1]:4711`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    """Every comma-separated value of every `name` header, in order."""
    values: list[str] = []
    for header, value in headers:
        if header.lower() == name:
            values.extend(part.strip() for part in value.decode("latin-1").split(","))
    return [value for value in values if value]
