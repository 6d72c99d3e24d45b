"""What a live socket route needs from the server that carries it, and the contract's closes.

The same flows (slot snapshots then changes, provider alerts, a waitlist entry) run on two
transports: Quart's WebSockets under Hypercorn (realtime.sockets) and the socket tier's
`websockets` connections (realtime.tier). A flow only sends text and closes with a code.
"""

from __future__ import annotations

from typing import Protocol

# Close codes: the contract's, plus 4400 for a bad range and 4401 for "sign in first".
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_PROVIDER = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TRY_AGAIN_LATER = 1013  # the socket fell behind; reconnecting gets a fresh snapshot
# A send that cannot complete in this long means the client stopped reading.
SEND_TIMEOUT = 10.0


class Transport(Protocol):
    """One accepted WebSocket, as the flows use it."""

    async def send(self, text: str) -> None:
        """Send one text frame; TimeoutError after SEND_TIMEOUT if the client stopped reading."""

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with `code`."""
