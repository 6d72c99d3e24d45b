"""The OpenAPI document as the app really behaves: quart-schema's, plus what it cannot know.

quart-schema describes request bodies, query strings and headers from the models it validates
with. This provider adds the rest (see server/edge/api_docs.py for how routes declare it):
the success answers routes build themselves, every error status with the `ErrorBody` shape,
the statuses the app's plumbing answers on its own (among them 503 with `Retry-After` when
PostgreSQL or Redis does not answer, server/edge/outages.py), `format: uuid` for `<uuid:…>` path
variables, and operationIds that are the handlers' names (`post_booking`, `get_service_slots`).
Only the JSON API is described: HTML pages, static files and WebSockets are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from quart_schema import OpenAPIProvider, validate_request
from quart_schema.openapi import QUART_SCHEMA_OPERATION_ID_ATTRIBUTE
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)
from werkzeug.routing import Rule
from werkzeug.routing.converters import BaseConverter, UUIDConverter

from server.edge.api_docs import (
    ErrorBody,
    ResponseDoc,
    documented_errors,
    documented_responses,
)
from server.edge.security import SAFE_METHODS, is_public_state_changing

# The JSON API: everything else (pages, /static, /docs) is not described.
DOCUMENTED_PREFIXES = ("/api/", "/webhooks/", "/auth/google", "/healthz")
ERROR_COMPONENTS_REF = "#/components/schemas/{model}"
ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}


class AppointlyOpenAPIProvider(OpenAPIProvider):
    """quart-schema's provider, completed with our responses, errors and operationIds."""

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        error_schema = ErrorBody.model_json_schema(ref_template=ERROR_COMPONENTS_REF)
        components = document["components"]["schemas"]
        components.update(error_schema.pop("$defs", {}))
        components["ErrorBody"] = error_schema
        return document

    def generate_rules(self) -> Iterable[Rule]:
        for rule in super().generate_rules():
            if rule.rule.startswith(DOCUMENTED_PREFIXES):
                yield rule

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        # `<uuid:x>`, or `<x_id>` whose handler answers 404 to anything but a UUID (so that the
        # 404 can name what was not found, e.g. `service_not_found`). The contract test sends
        # non-UUIDs to every such route and expects the 404.
        if isinstance(converter, UUIDConverter) or name.endswith("_id"):
            parameter["schema"] = {"type": "string", "format": "uuid"}
        # `<date>`: a YYYY-MM-DD day whose handler answers 422 to anything else.
        if name == "date":
            parameter["schema"] = {"type": "string", "format": "date"}
        return parameter

    def build_querystring_parameters(
        self, model: type[Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        parameters, components = super().build_querystring_parameters(model)
        return _absent_not_null(parameters), components

    def build_headers_parameters(
        self, model: type[Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        parameters, components = super().build_headers_parameters(model)
        return _absent_not_null(parameters), components

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str | None:
        # The handler's own name: one per route, the name a reader finds in server/routes.
        name: str = getattr(func, QUART_SCHEMA_OPERATION_ID_ATTRIBUTE, func.__name__)
        return name

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        handler = self._app.view_functions[rule.endpoint]
        documented = documented_responses(handler)
        for path_item in paths.values():
            for method, operation in path_item.items():
                responses = {str(code): answer for code, answer in operation["responses"].items()}
                for status, doc in documented.items():
                    responses[str(status)], more = self._success_response(doc)
                    components.update(more)
                # A status the route answers with its own shape (/healthz's 503) keeps it.
                for status in _error_statuses(rule, method.upper(), handler) - documented.keys():
                    responses[str(status)] = _error_response(status)
                for code, answer in responses.items():
                    answer["description"] = answer.get("description") or _phrase(code)
                operation["responses"] = dict(sorted(responses.items()))
                if "requestBody" in operation and _validates_body(handler):
                    operation["requestBody"]["required"] = True
        return paths, components

    def _success_response(self, doc: ResponseDoc) -> tuple[dict[str, Any], dict[str, Any]]:
        if doc.model is None:
            return {"description": doc.description or "No body."}, {}
        response, more = self.build_response_object(doc.model, None)
        if doc.description:
            response["description"] = doc.description
        return response, more


def _error_statuses(rule: Rule, method: str, handler: Callable[..., Any]) -> set[int]:
    """The statuses the route lists, plus those the app's plumbing answers on its own."""
    statuses = set(documented_errors(handler))
    if getattr(handler, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None:
        statuses |= {400, 413, 422}  # not JSON / too large (MAX_CONTENT_LENGTH) / wrong shape
    if getattr(handler, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None) is not None:
        statuses.add(422)  # a NUL in a parameter (server/edge/hostile_input.py), or its rules
    if rule.arguments:
        statuses.add(404)  # a malformed id fails routing before the handler runs
    if method not in SAFE_METHODS:
        statuses.add(403)  # csrf_failed: the session cookie sent from another origin
        if not is_public_state_changing(rule.rule):
            statuses.add(401)
    # busy / database_unavailable / service_unavailable: every route reads PostgreSQL or Redis
    # (a session at least), so any of them may find one not answering (server/edge/outages.py).
    statuses.add(503)
    return statuses


def _validates_body(handler: Callable[..., Any]) -> bool:
    """Whether quart-schema's `validate_request` guards the route, so a body is required (400
    without one); a body only documented (`document_request`, read by optional_json_body) may
    be left out."""
    layer: Any = handler
    while layer is not None:
        # functools.wraps copies the handler's names onto each wrapper; its code keeps its own.
        code_name = getattr(getattr(layer, "__code__", None), "co_qualname", "")
        if code_name.startswith(f"{validate_request.__name__}."):
            return True
        layer = getattr(layer, "__wrapped__", None)
    return False


def _absent_not_null(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An optional parameter is left out, never null: `str | None` documents as a string."""
    for parameter in parameters:
        schema = parameter["schema"]
        options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
        if len(options) == 1:
            rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
            parameter["schema"] = {**rest, **options[0]}
    return parameters


def _phrase(status: str) -> str:
    return HTTPStatus(int(status)).phrase if status.isdigit() else "Any other answer."


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": ERROR_BODY_REF}},
    }
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        response["description"] = (
            "PostgreSQL or Redis did not answer: `busy`, `database_unavailable` or"
            " `service_unavailable`. Try again after `Retry-After` seconds (with the same"
            " Idempotency-Key where the route takes one)."
        )
        response["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
    return response
