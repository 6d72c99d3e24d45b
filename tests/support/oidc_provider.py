"""Placeholder for the local OpenID Connect provider (the Google sign-in change fills it in)."""

from __future__ import annotations

from tests.support.serving import RunningServer, start_asgi


class LocalOIDCProvider:
    client_id = "appointly-test-client"
    client_secret = "appointly-test-secret"

    def __init__(self) -> None:
        self.server: RunningServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    async def start(self) -> None:
        from quart import Quart

        self.server = await start_asgi(Quart(__name__))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
