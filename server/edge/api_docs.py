"""Document a route's answers in one line each: its success shapes and its error statuses.

quart-schema documents what it validates: request bodies (`validate_request`), query strings
(`validate_querystring`) and headers (`validate_headers`). Our handlers build their responses
with `json_response(...)`, so what they answer is declared here instead:

    from quart_schema import validate_request

    from server.edge.api_docs import errors, responds
    from server.routes import shapes

    @blueprint.post("/api/things/<uuid:thing_id>/archive")
    @validate_request(ArchiveBody)
    @responds(200, shapes.ThingEnvelope)  # responds(204) for no body, responds(302) a redirect
    @errors(401, 403, 404, 409)
    async def post_thing_archive(thing_id: UUID, data: ArchiveBody) -> Response:
        \"\"\"Archive a thing (the docstring's first line is the summary in /docs).\"\"\"

- Put these decorators under the route decorator (any order among quart-schema's).
- Ids in paths are UUIDs: `<uuid:thing_id>` (a malformed id is a plain 404 before the handler
  runs), or `<thing_id>` parsed by the handler with a 404 naming what was not found. Both are
  documented as `format: uuid`; a path variable not ending in `_id` needs a converter.
- Every error status is documented with the contract's body, the `ErrorBody` component.
  Statuses the app's plumbing answers by itself are added for you (server/edge/openapi.py):
  400, 413 and 422 on routes with a JSON body, 422 on routes with a documented query string,
  404 on routes with path variables, 403 `csrf_failed` on state-changing routes, and 401 on
  state-changing routes that are not public (server/edge/security.py). List the rest.
- Prefer quart-schema's `validate_querystring`, which enforces and documents in one. A query
  string the handler parses itself is documented with quart-schema's `document_querystring`;
  the handler must then enforce every constraint the model states
  (tests/test_openapi_contract.py sends requests that break them and expects a 4xx).
- quart-schema's `document_response(Model, status)` works too; `responds` also covers no body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, Field

Handler = TypeVar("Handler", bound=Callable[..., Any])

ERRORS_ATTRIBUTE = "_appointly_error_statuses"
RESPONSES_ATTRIBUTE = "_appointly_responses"


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable snake_case code, e.g. `slot_taken`.")
    message: str = Field(description="A sentence for people.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Present when specific fields are wrong: field name → what is wrong.",
    )
    request_id: str | None = Field(
        default=None,
        description="On a 5xx answer: the request's id (its X-Request-ID), found in the logs.",
    )


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


@dataclass(frozen=True)
class ResponseDoc:
    """One documented success answer: a JSON model, or none (204, redirects)."""

    model: type[BaseModel] | None
    description: str


def responds(
    status: int, model: type[BaseModel] | None = None, *, description: str = ""
) -> Callable[[Handler], Handler]:
    """Document that the route answers `status` with `model` as JSON (no model: no body)."""

    def decorate(handler: Handler) -> Handler:
        documented: dict[int, ResponseDoc] = dict(getattr(handler, RESPONSES_ATTRIBUTE, {}))
        documented[status] = ResponseDoc(model, description)
        setattr(handler, RESPONSES_ATTRIBUTE, documented)
        return handler

    return decorate


def errors(*statuses: int) -> Callable[[Handler], Handler]:
    """Document the error statuses the route can answer, each with the `ErrorBody` shape."""

    def decorate(handler: Handler) -> Handler:
        known: frozenset[int] = getattr(handler, ERRORS_ATTRIBUTE, frozenset())
        setattr(handler, ERRORS_ATTRIBUTE, known | frozenset(statuses))
        return handler

    return decorate


def documented_errors(handler: Callable[..., Any]) -> frozenset[int]:
    found: frozenset[int] = getattr(handler, ERRORS_ATTRIBUTE, frozenset())
    return found


def documented_responses(handler: Callable[..., Any]) -> dict[int, ResponseDoc]:
    found: dict[int, ResponseDoc] = getattr(handler, RESPONSES_ATTRIBUTE, {})
    return found
