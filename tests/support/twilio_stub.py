"""A local stand-in for Twilio's Messages API, reached through the real `twilio` SDK.

It checks HTTP Basic authentication with the account SID and auth token, requires To, From and
Body like the real endpoint, answers with a Message resource, and records every message so
tests can assert on what was sent. `fail_next` answers the next call with a 500. `hold_next`
makes the next calls wait (a slow Twilio) until the test lets each go with `release`.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, jsonify, request

from tests.support.serving import RunningServer, start_asgi

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-token"
FROM_NUMBER = "+15005550006"


@dataclass
class SentText:
    to: str
    from_: str
    body: str


@dataclass
class TwilioStandIn:
    sent: list[SentText] = field(default_factory=list)
    failures_left: int = 0
    server: RunningServer | None = None
    holds_left: int = 0
    # Requests being held, oldest first: each waits for its future (True: answer a 500).
    held: list[asyncio.Future[bool]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def fail_next(self, count: int = 1) -> None:
        self.failures_left = count

    def hold_next(self, count: int = 1) -> None:
        """The next `count` messages wait, unanswered, until `release` lets each go."""
        self.holds_left += count

    async def wait_until_held(self, count: int, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while len(self.held) < count:
                await asyncio.sleep(0.01)

    def release(self, *, fail: bool = False) -> None:
        """Answer the oldest held message: sent, or a 500 when `fail`."""
        gate = self.held.pop(0)
        gate.set_result(fail)

    async def _wait_if_held(self) -> bool:
        if self.holds_left <= 0:
            return False
        self.holds_left -= 1
        gate: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.held.append(gate)
        return await gate

    async def start(self) -> None:
        self.server = await start_asgi(self._app())

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    def _app(self) -> Quart:
        app = Quart(__name__)

        @app.post("/2010-04-01/Accounts/<account_sid>/Messages.json")
        async def create_message(account_sid: str) -> tuple[Response, int]:
            if account_sid != ACCOUNT_SID or not _authorized(request.headers.get("Authorization")):
                return jsonify({"code": 20003, "message": "Authenticate", "status": 401}), 401
            form = await request.form
            if await self._wait_if_held():
                return jsonify({"code": 20500, "message": "Internal error", "status": 500}), 500
            if self.failures_left > 0:
                self.failures_left -= 1
                return jsonify({"code": 20500, "message": "Internal error", "status": 500}), 500
            missing = [name for name in ("To", "From", "Body") if not form.get(name)]
            if missing:
                message = f"A '{missing[0]}' parameter is required."
                return jsonify({"code": 21604, "message": message, "status": 400}), 400
            self.sent.append(SentText(form["To"], form["From"], form["Body"]))
            return jsonify(_message_resource(form)), 201

        return app


def _authorized(header: str | None) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return header == f"Basic {expected}"


def _message_resource(form: Any) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "to": form["To"],
        "from": form["From"],
        "body": form["Body"],
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }
