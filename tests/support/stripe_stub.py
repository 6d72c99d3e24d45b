"""A local stand-in for the Stripe API, checking requests the way the real API would.

It serves the endpoints Appointly calls, over real HTTP, so the real `stripe` SDK talks to it:
Bearer authentication with SECRET_KEY, form-encoded bodies with nested keys, required fields,
idempotency keys, and Stripe's error format. Every request is recorded so tests can assert on
what was sent; `fail_next` makes a call fail and `hold_until_concurrent` lines calls up so a
race is certain rather than likely. `outage` makes every call answer 500 or never answer in
time (Stripe down or black-holed), and `pause` keeps calls waiting until the test lets them go
(a request is "still talking to Stripe"). As at Stripe, a second request with an idempotency
key whose first request is still in flight answers 409 (the SDK retries it).

Adding an endpoint is one method and one line in `_routes`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from quart import Quart, Response, request

from tests.support.serving import RunningServer, start_asgi

WEBHOOK_SECRET = "whsec_test_appointly"
SECRET_KEY = "sk_test_appointly"

Form = dict[str, Any]
Handler = Callable[["re.Match[str]", Form], Awaitable[tuple[int, dict[str, Any]]]]


class StripeRequestError(Exception):
    """Answered as Stripe's `{"error": {...}}` with the given status."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: Form
    headers: dict[str, str]


@dataclass
class _Failure:
    status: int
    message: str
    retryable: bool
    method: str | None
    path: str | None
    remembered: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


@dataclass
class _Hold:
    count: int
    arrived: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)


def parse_form(encoded: str) -> Form:
    """Stripe's form encoding: `metadata[a]=1&items[0][b]=2&expand[]=x` → nested dicts/lists."""
    root: Form = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        *parents, last = _key_path(key)
        node = root
        for name in parents:
            node = node.setdefault(name, {})
        if last == "":
            node.setdefault("", []).append(value)
        else:
            node[last] = value
    converted: Form = _lists_from_indexes(root)
    return converted


def _key_path(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    return [head, *rest[:-1].split("][")] if rest.endswith("]") else [key]


def _lists_from_indexes(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {""}:
        return list(node[""])
    converted = {key: _lists_from_indexes(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _require(form: Form, *names: str) -> None:
    for name in names:
        if form.get(name) in (None, ""):
            raise StripeRequestError(400, f"Missing required param: {name}.", param=name)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class StripeStandIn:
    def __init__(self) -> None:
        # Checkout, payment intents and refunds live beside this file (it would grow too long).
        from tests.support.stripe_checkout import checkout_routes

        self.server: RunningServer | None = None
        self.requests: list[RecordedRequest] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.account_links: list[dict[str, Any]] = []
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._failures: list[_Failure] = []
        self._holds: dict[tuple[str, str], _Hold] = {}
        self._idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._in_flight: set[tuple[str, str]] = set()
        self._outage: str | None = None  # None, "error" or "timeout"
        self._outage_gone = asyncio.Event()
        self._paused: dict[tuple[str, str], asyncio.Event] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"/v1/accounts"), self._create_account),
            ("GET", re.compile(r"/v1/accounts/(?P<id>acct_\w+)"), self._retrieve_account),
            ("DELETE", re.compile(r"/v1/accounts/(?P<id>acct_\w+)"), self._delete_account),
            ("POST", re.compile(r"/v1/account_links"), self._create_account_link),
            *checkout_routes(self),
        ]

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def start(self) -> None:
        app = Quart(__name__)
        app.add_url_rule(
            "/v1/<path:rest>", "stripe_api", self._serve, methods=["GET", "POST", "DELETE"]
        )
        self.server = await start_asgi(app)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    # --- For tests ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: requests, objects, pending failures and holds."""
        self.requests.clear()
        self.accounts.clear()
        self.account_links.clear()
        self.checkout_sessions.clear()
        self.payment_intents.clear()
        self.refunds.clear()
        self._failures.clear()
        self._holds.clear()
        self._idempotent.clear()
        self._in_flight.clear()
        self.end_outage()
        for paused in self._paused.values():
            paused.set()
        self._paused.clear()

    def fail_next(
        self,
        status: int = 500,
        *,
        message: str = "An unexpected error occurred.",
        retryable: bool = False,
        method: str | None = None,
        path: str | None = None,
        remembered: bool = False,
    ) -> None:
        """Make the next matching request fail. Unless `retryable`, the answer carries
        `Stripe-Should-Retry: false`, so the SDK gives up at once as it would for real.
        `remembered`: like Stripe for an error raised once the request ran, the answer is kept
        under the request's Idempotency-Key and replayed to every request with that key."""
        self._failures.append(_Failure(status, message, retryable, method, path, remembered))

    def hold_until_concurrent(self, method: str, path: str, count: int) -> None:
        """Answer none of the next `count` `method path` requests until all have arrived."""
        self._holds[(method, path)] = _Hold(count)

    def outage(self, kind: str = "error") -> None:
        """Until `end_outage`: every request answers 500 (`"error"`, retryable, as Stripe's own
        trouble looks) or gets no answer until the outage ends (`"timeout"`)."""
        assert kind in ("error", "timeout")
        self._outage = kind
        self._outage_gone = asyncio.Event()

    def end_outage(self) -> None:
        self._outage = None
        self._outage_gone.set()

    def pause(self, method: str, path: str) -> None:
        """Keep every `method path` request waiting (recorded, unanswered) until `resume`."""
        self._paused[(method, path)] = asyncio.Event()

    def resume(self, method: str, path: str) -> None:
        self._paused.pop((method, path)).set()

    async def wait_for_requests(self, method: str, path: str, count: int) -> None:
        """Until `count` `method path` requests have arrived (5 s at most)."""
        async with asyncio.timeout(5):
            while len(self.requests_to(method, path)) < count:
                await asyncio.sleep(0.01)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def live_accounts(self) -> list[dict[str, Any]]:
        return [account for account in self.accounts.values() if not account.get("deleted")]

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """What finishing the hosted onboarding does: the account can take charges now."""
        account = self.accounts[account_id]
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["capabilities"] = {name: "active" for name in account["capabilities"]}
        return dict(account)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _serve(self, rest: str) -> Response:
        method = request.method
        path = "/v1/" + rest
        raw = (
            await request.get_data(cache=True, as_text=True, parse_form_data=False)
            if method == "POST"
            else request.query_string.decode()
        )
        form = parse_form(raw)
        self.requests.append(RecordedRequest(method, path, form, dict(request.headers)))
        await self._wait_for_hold(method, path)
        if self._outage == "timeout":
            await self._outage_gone.wait()  # the client gives up first
        if self._outage == "error":
            return self._error(StripeRequestError(500, "Stripe is down."), should_retry=True)
        try:
            self._check_api_key(request.headers.get("Authorization", ""))
            if method == "POST" and request.mimetype != "application/x-www-form-urlencoded":
                raise StripeRequestError(400, "Request bodies must be form-encoded.")
            idempotency = (path, request.headers.get("Idempotency-Key", ""))
            if method == "POST" and idempotency[1] and idempotency in self._idempotent:
                status, body = self._idempotent[idempotency]
                return _json(body, status, {"Idempotent-Replayed": "true"})
            failure = self._take_failure(method, path)
            if failure is not None:
                error = StripeRequestError(failure.status, failure.message)
                if failure.remembered and method == "POST" and idempotency[1]:
                    self._idempotent[idempotency] = (error.status, _error_body(error))
                return self._error(error, should_retry=failure.retryable)
            if method == "POST" and idempotency[1] and idempotency in self._in_flight:
                raise StripeRequestError(
                    409,
                    "There is currently another in-progress request using this Stripe API "
                    "key and idempotency key. Please try again later.",
                    code="idempotency_key_in_use",
                )
            self._in_flight.add(idempotency)
            try:
                await self._wait_while_paused(method, path)
                status, body = await self._dispatch(method, path, form)
            finally:
                self._in_flight.discard(idempotency)
        except StripeRequestError as error:
            return self._error(error, should_retry=error.status == 409)
        if method == "POST" and idempotency[1]:
            self._idempotent[idempotency] = (status, body)
        return _json(body, status)

    async def _dispatch(self, method: str, path: str, form: Form) -> tuple[int, dict[str, Any]]:
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return await handler(match, form)
        raise StripeRequestError(404, f"Unrecognized request URL ({method}: {path}).")

    def _check_api_key(self, authorization: str) -> None:
        if authorization != f"Bearer {SECRET_KEY}":
            raise StripeRequestError(401, "Invalid API Key provided.")

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.matches(method, path):
                self._failures.remove(failure)
                return failure
        return None

    async def _wait_while_paused(self, method: str, path: str) -> None:
        paused = self._paused.get((method, path))
        if paused is not None:
            async with asyncio.timeout(10):
                await paused.wait()

    async def _wait_for_hold(self, method: str, path: str) -> None:
        hold = self._holds.get((method, path))
        if hold is None:
            return
        hold.arrived += 1
        if hold.arrived >= hold.count:
            del self._holds[(method, path)]
            hold.released.set()
        async with asyncio.timeout(10):
            await hold.released.wait()

    def _error(self, error: StripeRequestError, *, should_retry: bool = False) -> Response:
        headers = {"Stripe-Should-Retry": "true" if should_retry else "false"}
        return _json(_error_body(error), error.status, headers)

    # --- Endpoints ----------------------------------------------------------------------------

    async def _create_account(self, match: re.Match[str], form: Form) -> tuple[int, dict[str, Any]]:
        _require(form, "type")
        if form["type"] not in ("express", "standard", "custom"):
            raise StripeRequestError(400, "Invalid type.", param="type")
        country = form.get("country", "US")
        if not re.fullmatch(r"[A-Z]{2}", country) or country == "AQ":
            raise StripeRequestError(400, f"Country '{country}' is unknown.", param="country")
        requested = form.get("capabilities", {})
        account = {
            "id": _new_id("acct"),
            "object": "account",
            "type": form["type"],
            "country": country,
            "email": form.get("email"),
            "default_currency": "gbp" if country == "GB" else "usd",
            "business_profile": form.get("business_profile", {}),
            "capabilities": {name: "inactive" for name in requested},
            "metadata": form.get("metadata", {}),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "requirements": {"currently_due": ["external_account"], "disabled_reason": None},
            "created": int(time.time()),
            "livemode": False,
        }
        self.accounts[account["id"]] = account
        return 200, account

    def _account(self, account_id: str, param: str = "account") -> dict[str, Any]:
        account = self.accounts.get(account_id)
        if account is None or account.get("deleted"):
            raise StripeRequestError(
                404, f"No such account: '{account_id}'", param=param, code="resource_missing"
            )
        return account

    async def _retrieve_account(
        self, match: re.Match[str], form: Form
    ) -> tuple[int, dict[str, Any]]:
        return 200, self._account(match["id"])

    async def _delete_account(self, match: re.Match[str], form: Form) -> tuple[int, dict[str, Any]]:
        account = self._account(match["id"])
        account["deleted"] = True
        return 200, {"id": account["id"], "object": "account", "deleted": True}

    async def _create_account_link(
        self, match: re.Match[str], form: Form
    ) -> tuple[int, dict[str, Any]]:
        _require(form, "account", "type", "return_url", "refresh_url")
        if form["type"] not in ("account_onboarding", "account_update"):
            raise StripeRequestError(400, "Invalid type.", param="type")
        account = self._account(form["account"])
        now = int(time.time())
        link = {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{self.url}/setup/e/{account['id']}/{secrets.token_urlsafe(12)}",
        }
        self.account_links.append({**link, "account": account["id"], "form": form})
        return 200, link


def _error_body(error: StripeRequestError) -> dict[str, Any]:
    kind = "api_error" if error.status >= 500 else "invalid_request_error"
    body: dict[str, Any] = {"type": kind, "message": error.message}
    if error.param:
        body["param"] = error.param
    if error.code:
        body["code"] = error.code
    return {"error": body}


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers["Request-Id"] = _new_id("req")
    response.headers.update(headers or {})
    return response
