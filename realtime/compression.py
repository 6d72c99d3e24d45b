"""Live-slot frames go uncompressed.

Hypercorn accepts permessage-deflate whenever a client offers it (every browser does) and
gives no setting to refuse it. A compressor and a decompressor per socket, kept for the
socket's life, made an idle watcher cost 183 KiB instead of 43 KiB, and compressing each
frame once per socket was most of the fan-out time (bench/README.md). Our frames are small
JSON, so compression bought little; declining it is the better trade.
"""

from __future__ import annotations

from hypercorn.protocol import ws_stream
from wsproto.extensions import PerMessageDeflate


class DeclinedPerMessageDeflate(PerMessageDeflate):
    """Takes part in the handshake only to say no."""

    def accept(self, offer: str) -> bool:
        return False


def decline_permessage_deflate() -> None:
    """Make Hypercorn's WebSocket handshake refuse compression (idempotent)."""
    # Hypercorn builds its handshake offer from this module-level name on every upgrade.
    setattr(ws_stream, "PerMessageDeflate", DeclinedPerMessageDeflate)  # noqa: B010
