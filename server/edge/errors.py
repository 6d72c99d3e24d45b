"""One error type for the API and the handlers that turn every failure into the contract's JSON."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import (
    Quart,
    Response,
    has_request_context,
    has_websocket_context,
    render_template,
    request,
    websocket,
)
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.domain.rules import RuleBroken
from server.infra.jsonio import json_response
from server.infra.logs import current_request_id

log = logging.getLogger(__name__)

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


# A broken domain rule answers 422 unless its code is listed here.
_RULE_STATUS: dict[str, int] = {
    "too_late_to_cancel": 409,
    "too_late_to_reschedule": 409,
    "too_late_to_book": 409,
    "slot_taken": 409,
    "invalid_transition": 409,
}


class APIError(Exception):
    """An expected failure with a stable code, shown to the client as-is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def request_line() -> str:
    """`GET /route/<template>`, or `WEBSOCKET /ws/…`, for the log: error handlers run for
    WebSocket routes too, where there is no `request` to read. The template, not the path:
    some paths carry a secret (`/calendar/<token>.ics`)."""
    if has_websocket_context():
        rule = websocket.url_rule
        return f"WEBSOCKET {rule.rule if rule is not None else 'unmatched'}"
    rule = request.url_rule
    return f"{request.method} {rule.rule if rule is not None else 'unmatched'}"


def _wants_json() -> bool:
    if has_websocket_context():
        return True  # a refused handshake: a script reads it, never a browser page
    path = request.path
    return (
        path.startswith(("/api/", "/webhooks/", "/auth/google"))
        or path in ("/healthz", "/openapi.json")
        or request.accept_mimetypes.best == "application/json"
    )


def api_error_response(error: APIError) -> Response:
    body = error_body(error.code, error.message, error.fields)
    request_id = current_request_id()
    if error.status >= 500 and request_id is not None:
        # What the operator greps the log for when a client reports the failure.
        body["error"]["request_id"] = request_id
    response = json_response(body, error.status)
    response.headers.update(error.headers)
    return response


def validation_fields(error: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "extra_forbidden":
            fields[location] = "Unknown field."
        else:
            fields.setdefault(location, str(item["msg"]))
    return fields


def register_error_handlers(app: Quart) -> None:
    app.register_error_handler(APIError, _handle_api_error)
    app.register_error_handler(RuleBroken, _handle_rule_broken)
    app.register_error_handler(RequestSchemaValidationError, _handle_schema_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(UnicodeDecodeError, _handle_undecodable)
    app.register_error_handler(Exception, _handle_unexpected)


async def _handle_api_error(error: APIError) -> Response:
    return api_error_response(error)


def rule_error(rule: RuleBroken) -> APIError:
    """The API's answer to a broken domain rule."""
    status = _RULE_STATUS.get(rule.code, 422)
    return APIError(status, rule.code, rule.message, fields=rule.fields)


async def _handle_rule_broken(rule: RuleBroken) -> Response:
    return api_error_response(rule_error(rule))


async def _handle_schema_error(error: RequestSchemaValidationError) -> Response:
    cause = error.validation_error
    if isinstance(cause, ValidationError):
        if any(item["type"] == "model_type" for item in cause.errors() if not item["loc"]):
            return api_error_response(
                APIError(400, "invalid_json", "The request body must be a JSON object.")
            )
        return api_error_response(
            APIError(
                422,
                "validation_error",
                "Some fields are missing or invalid.",
                fields=validation_fields(cause),
            )
        )
    return api_error_response(APIError(400, "invalid_json", "The request body must be JSON."))


async def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = _allow_header(error)
    if _wants_json():
        message = error.description or error.name
        return api_error_response(
            APIError(status, _DEFAULT_CODES.get(status, "http_error"), message, headers=headers)
        )
    html = await render_template("error.html", status=status, title=error.name)
    return Response(html, status=status, headers=headers)


def _allow_header(error: HTTPException) -> dict[str, str]:
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return {"Allow": ", ".join(error.valid_methods)}
    return {}


async def _handle_undecodable(error: UnicodeDecodeError) -> Response | tuple[str, int]:
    # Quart decodes the body as UTF-8 before parsing JSON and lets the error escape; a client
    # sending bytes that are not text is a bad request, anything else is our bug.
    body = await request.get_data() if has_request_context() else b""
    if body and error.object == body:
        return api_error_response(
            APIError(400, "invalid_json", "The request body is not valid UTF-8 JSON.")
        )
    return await _handle_unexpected(error)


async def _handle_unexpected(error: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error on %s", request_line(), exc_info=error)
    if _wants_json():
        return api_error_response(
            APIError(500, "internal_error", "Something went wrong on our side.")
        )
    html = await render_template("error.html", status=500, title="Something went wrong")
    return html, 500
