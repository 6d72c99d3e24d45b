"""Real-time fan-out: Redis pub/sub to WebSocket clients."""
