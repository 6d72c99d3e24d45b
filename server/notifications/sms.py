"""Text messages through Twilio's own SDK (async HTTP client), when TWILIO_* is configured.

TWILIO_API_BASE replaces the SDK's https://api.twilio.com, which is how tests point it at a
local stand-in (tests/support/twilio_stub.py).
"""

from __future__ import annotations

from types import TracebackType

from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from server.infra.config import Config


class SmsUnavailable(RuntimeError):
    """A text message could not be handed to Twilio."""


def sms_enabled(config: Config) -> bool:
    return bool(config.twilio_account_sid and config.twilio_auth_token and config.twilio_from)


class SmsSender:
    """A Twilio client for one delivery batch; its HTTP session is closed at the end."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def __aenter__(self) -> SmsSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.close()

    async def send(self, to: str, body: str) -> str:
        """Send `body` to `to`; returns Twilio's message sid."""
        client = self._twilio()
        try:
            message = await client.messages.create_async(
                to=to, from_=self._config.twilio_from, body=body
            )
        except (TwilioException, OSError) as error:
            raise SmsUnavailable(str(error)) from error
        return str(message.sid)

    def _twilio(self) -> Client:
        if self._client is None:
            if not sms_enabled(self._config):
                raise SmsUnavailable("Twilio is not configured")
            self._http = AsyncTwilioHttpClient(timeout=20)
            self._client = Client(
                self._config.twilio_account_sid,
                self._config.twilio_auth_token,
                http_client=self._http,
            )
            self._client.api.base_url = self._config.twilio_api_base
        return self._client
