"""The API behaves as its own /openapi.json says, checked by schemathesis against the live app.

For every documented operation schemathesis generates requests from the document, both valid
ones and ones that break it, and checks each answer: no 5xx, only documented status codes and
content types, bodies matching the documented schema, and a request that breaks the schema is
never accepted with a 2xx. And the other way round: valid data is not "mostly rejected" (the
warning schemathesis's CLI gives when an operation's documented constraints are looser than
its validation, so a generated client would send what the server refuses). It runs three
times: as a stranger, as a signed-in customer and as a signed-in provider (a session cookie
and no Origin header, like any non-browser client).

The app under test is served by Hypercorn inside the test event loop, and schemathesis is
synchronous (requests + Hypothesis), so the probing runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis import Case as GenericCase
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveApp, make_provider

# Enough to reach every documented constraint at least once, few enough to stay well inside
# the suite's time budget: operations x 2 modes x 3 identities x this many requests.
MAX_EXAMPLES = 15
# Each of these answers hashes a password (argon2, slow on purpose), so fewer examples.
FEWER_EXAMPLES = {"post_login": 5, "post_signup": 8, "post_password_reset_confirm": 5}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SESSION_COOKIE = "appointly_session"
# Signing out would end the very session the rest of a signed-in run relies on; the anonymous
# run probes it.
ENDS_THE_SESSION = frozenset({"post_logout"})
# Stripe signs its webhook; schemathesis cannot, so every probe would stop at 400 bad_signature
# (tests/test_stripe_webhooks.py drives the real thing). Google's routes redirect the browser to
# Google (a local stand-in here) and back; tests/test_google_signin.py covers them end to end.
NOT_MEANINGFUL_TO_PROBE = frozenset({"post_stripe_webhook", "get_google_sign_in"})
# schemathesis's rule for "mostly rejected generated data": no valid case served, and at least
# this share of the answers that judge the data (not 401/403/404/409/429) refusing it.
MOSTLY_REJECTED_SHARE = 0.1
NOT_ABOUT_THE_DATA = frozenset({401, 403, 404, 409, 429})
# A random token is never one the server e-mailed, a random URL never a CalDAV calendar: no
# document can make them valid.
REFUSED_WHATEVER_THE_DATA = frozenset({"invalid_token", "caldav_unreachable", "caldav_refused"})
# Weekly hours and time off have rules a JSON Schema cannot state (a range ends after it starts,
# ranges do not overlap): random valid-looking hours are mostly refused. Known; not a mismatch.
HOURS_RULES = frozenset(
    {"POST /api/services", "PATCH /api/services/{service_id}", "POST /api/providers/me/time-off"}
)

Identity = dict[str, str]
# Per operation, the (status, error code) of each answer to a case generated as valid.
PositiveAnswers = dict[str, list[tuple[int, str | None]]]
Operation = APIOperation[Any, Any, Any, Any]
Case = GenericCase[Any]


async def test_the_api_answers_strangers_as_documented(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    failures = await _probe(live_app, client, cookies={})
    assert not failures, "\n\n".join(failures)


async def test_the_api_answers_a_signed_in_customer_as_documented(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    service_id = await _someone_elses_service(live_app)
    signup = await client.post(
        "/api/auth/signup",
        json={"email": "customer@example.com", "password": "correct horse", "name": "Cy"},
    )
    assert signup.status_code == 201, signup.text
    cookies = {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}
    failures = await _probe(
        live_app, client, cookies=cookies, fixed={"service_id": service_id}, skip=ENDS_THE_SESSION
    )
    assert not failures, "\n\n".join(failures)


async def test_the_api_answers_a_signed_in_provider_as_documented(
    live_app: LiveApp, client: httpx.AsyncClient
) -> None:
    await make_provider(client, email="provider@example.com")
    service_id = await _add_service(client)
    cookies = {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}
    # Their own service's id, so that changing and deleting it is really exercised.
    failures = await _probe(
        live_app, client, cookies=cookies, fixed={"service_id": service_id}, skip=ENDS_THE_SESSION
    )
    assert not failures, "\n\n".join(failures)


async def _probe(
    live_app: LiveApp,
    client: httpx.AsyncClient,
    *,
    cookies: Identity,
    fixed: dict[str, str] | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    document = (await client.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    loaded = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    operations = [op for op in loaded if _operation_id(op) not in skip | NOT_MEANINGFUL_TO_PROBE]
    assert operations, "the document lists no operations"
    return await asyncio.to_thread(_probe_all, operations, live_app.url, cookies, fixed or {})


def _probe_all(
    operations: list[Operation], base_url: str, cookies: Identity, fixed: dict[str, str]
) -> list[str]:
    failures: list[str] = []
    positive: PositiveAnswers = {}
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                call = _caller(session, base_url, cookies, failures, positive)
                _run(operation, mode, _fixed_for(operation, fixed), call)
    failures.extend(_mostly_rejected(positive))
    return sorted(set(failures))


def _mostly_rejected(positive: PositiveAnswers) -> list[str]:
    """Operations whose valid-by-the-document data the server mostly refused as invalid."""
    found = []
    for label, answers in positive.items():
        if label in HOURS_RULES or any(200 <= status < 300 for status, _ in answers):
            continue
        judged = [
            (s, code) for s, code in answers if 400 <= s < 500 and s not in NOT_ABOUT_THE_DATA
        ]
        refused = [(s, code) for s, code in judged if code not in REFUSED_WHATEVER_THE_DATA]
        counted = len(judged) + sum(status == 404 for status, _ in answers)
        if refused and len(refused) >= MOSTLY_REJECTED_SHARE * counted:
            found.append(f"{label}: mostly rejected generated data: {sorted(set(refused))}")
    return found


def _operation_id(operation: Operation) -> str:
    return str(operation.definition.raw.get("operationId"))


def _fixed_for(operation: Operation, fixed: dict[str, str]) -> dict[str, str]:
    names = {parameter.name for parameter in operation.path_parameters}
    return {name: value for name, value in fixed.items() if name in names}


def _caller(
    session: requests.Session,
    base_url: str,
    cookies: Identity,
    failures: list[str],
    positive: PositiveAnswers,
) -> Callable[[Case], None]:
    def call(case: Case) -> None:
        try:
            response = case.call_and_validate(
                base_url=base_url, session=session, cookies=cookies, checks=CHECKS
            )
            if case.meta and case.meta.generation.mode is GenerationMode.POSITIVE:
                positive.setdefault(case.operation.label, []).append(
                    (response.status_code, _error_code(response.content))
                )
        except (AssertionError, FailureGroup) as error:
            # Collected rather than raised, so one run reports every finding at once.
            mode = case.meta.generation.mode.value if case.meta else "?"
            failures.append(f"{case.operation.label} [{mode}]: {str(error).strip()[:600]}")
        finally:
            # A signup or login answer sets a new cookie; the run keeps its own identity.
            session.cookies.clear()

    return call


def _error_code(body: bytes) -> str | None:
    try:
        code: Any = orjson.loads(body)["error"]["code"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return str(code)


def _run(
    operation: Operation,
    mode: GenerationMode,
    fixed: dict[str, str],
    call: Callable[[Case], None],
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed or None)

    @settings(
        max_examples=FEWER_EXAMPLES.get(_operation_id(operation), MAX_EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def probe(case: Case) -> None:
        call(case)

    try:
        probe()
    except Unsatisfiable:
        # Nothing in the operation can be broken (no parameters, no body): no negative case.
        if mode is not GenerationMode.NEGATIVE:
            raise


async def _someone_elses_service(live_app: LiveApp) -> str:
    async with live_app.client() as other:
        await make_provider(other, email="other@example.com", business_name="Other Clinic")
        return await _add_service(other)


async def _add_service(http: httpx.AsyncClient) -> str:
    response = await http.post(
        "/api/services",
        json={
            "name": "Check-up",
            "description": "A short visit.",
            "price_cents": 0,
            "currency": "GBP",
            "duration_minutes": 30,
            "max_appointments_per_day": 8,
            "hours": {day: [["09:00", "13:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    assert response.status_code == 201, response.text
    service_id: Any = response.json()["service"]["id"]
    return str(service_id)
