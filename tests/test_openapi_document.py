"""Meta-tests on /openapi.json: it walks the app's URL map, so a route added later without its
documentation fails here rather than surprising an integrator."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import LiveApp

UNDOCUMENTED_METHODS = frozenset({"HEAD", "OPTIONS"})
ERROR_BODY_REF = "#/components/schemas/ErrorBody"
_URL_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    found: dict[str, Any] = response.json()
    return found


def _api_routes(live_app: LiveApp) -> list[tuple[str, str, str]]:
    """(method, OpenAPI path, handler name) of every HTTP route under /api."""
    routes = []
    for rule in live_app.app.url_map.iter_rules():
        if rule.websocket or not rule.rule.startswith("/api/"):
            continue
        handler = live_app.app.view_functions[rule.endpoint]
        path = _URL_VARIABLE.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - UNDOCUMENTED_METHODS):
            routes.append((method, path, handler.__name__))
    return routes


async def test_every_json_route_is_documented_with_its_handler_name_summary_and_errors(
    live_app: LiveApp, document: dict[str, Any]
) -> None:
    routes = _api_routes(live_app)
    assert ("POST", "/api/bookings", "post_booking") in routes  # the walk sees the real app
    problems = []
    for method, path, handler_name in routes:
        operation = document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            problems.append(f"{method} {path}: not in the document")
            continue
        if operation.get("operationId") != handler_name:
            problems.append(f"{method} {path}: operationId {operation.get('operationId')!r}")
        if not operation.get("summary"):
            problems.append(f"{method} {path}: no docstring summary")
        if not _documented_errors(operation):
            problems.append(f"{method} {path}: no error response documented")
        if not any(status.startswith("2") or status == "302" for status in operation["responses"]):
            problems.append(f"{method} {path}: no success response documented")
    assert problems == []


async def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


async def test_every_error_answer_is_documented_with_the_contracts_error_body(
    document: dict[str, Any],
) -> None:
    error_body = document["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message"}
    assert set(detail["properties"]) == {"code", "message", "fields", "request_id"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": ERROR_BODY_REF}, f"{method} {path} {status}"


async def test_every_route_documents_the_503_it_answers_when_a_dependency_does_not_answer(
    document: dict[str, Any],
) -> None:
    """busy / database_unavailable / service_unavailable come from the plumbing
    (server/edge/outages.py), not from a route's own list, on any route."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answer = operation["responses"].get("503")
            assert answer is not None, f"{method} {path}"
            schema = answer["content"]["application/json"]["schema"]
            if path == "/healthz":  # its own 503 keeps its own shape, naming what failed
                assert schema != {"$ref": ERROR_BODY_REF}
                continue
            assert schema == {"$ref": ERROR_BODY_REF}, f"{method} {path}"
            assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"


async def test_ids_in_paths_are_documented_as_uuids(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["name"] == "date":
                    assert parameter["schema"]["format"] == "date", path
                elif parameter["in"] == "path":
                    assert parameter["schema"] == {"type": "string", "format": "uuid"}, path


async def test_pages_static_files_and_websockets_are_left_out(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    assert not {"/", "/login", "/dashboard", "/openapi.json", "/docs"} & paths
    assert not [path for path in paths if path.startswith(("/static", "/ws/"))]


async def test_the_stripe_webhook_documents_its_signature_check(document: dict[str, Any]) -> None:
    webhook = document["paths"]["/webhooks/stripe"]["post"]
    assert webhook["operationId"] == "post_stripe_webhook"
    assert "400" in webhook["responses"]


async def test_request_constraints_are_in_the_document(document: dict[str, Any]) -> None:
    paths = document["paths"]
    search = {p["name"]: p for p in paths["/api/services"]["get"]["parameters"]}
    limit = search["limit"]["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 100)
    assert search["q"]["schema"]["maxLength"] == 200
    slots = {p["name"]: p for p in paths["/api/services/{service_id}/slots"]["get"]["parameters"]}
    assert slots["from"]["schema"]["format"] == "date"
    assert slots["to"]["schema"]["format"] == "date"
    booking = paths["/api/bookings"]["post"]
    headers = {p["name"]: p for p in booking["parameters"] if p["in"] == "header"}
    assert headers["idempotency-key"]["schema"]["maxLength"] == 255
    assert "201" in booking["responses"]
    service = _resolve(document, paths["/api/services"]["post"]["requestBody"])
    price = service["properties"]["price_cents"]
    assert (price["minimum"], price["maximum"]) == (0, 100_000_000)
    assert service["properties"]["currency"]["pattern"] == "^[A-Za-z]{3}$"


def _resolve(document: dict[str, Any], request_body: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = request_body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _documented_errors(operation: dict[str, Any]) -> list[str]:
    return [status for status in operation["responses"] if status[0] in "45"]
