"""Placeholder for the local Stripe API stand-in (the providers change fills it in)."""

from __future__ import annotations

from tests.support.serving import RunningServer, start_asgi

WEBHOOK_SECRET = "whsec_test_appointly"
SECRET_KEY = "sk_test_appointly"


class StripeStandIn:
    def __init__(self) -> None:
        self.server: RunningServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def start(self) -> None:
        from quart import Quart

        self.server = await start_asgi(Quart(__name__))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
