"""The socket tier: Appointly's three WebSocket routes served by the `websockets` library, with
one encoded frame written to every socket that watches the same thing (see realtime.tier.fanout
and realtime.tier.server)."""
