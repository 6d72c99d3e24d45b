"""A local stand-in for Twilio's Messages API, reached through the real `twilio` SDK.

It checks HTTP Basic authentication with the account SID and auth token, requires To, From and
Body like the real endpoint, answers with a Message resource, and records every message so
tests can assert on what was sent. `fail_next` answers the next call with a 500.
"""

from __future__ import annotations

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

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def fail_next(self, count: int = 1) -> None:
        self.failures_left = count

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
            if self.failures_left > 0:
                self.failures_left -= 1
                return jsonify({"code": 20500, "message": "Internal error", "status": 500}), 500
            form = await request.form
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
