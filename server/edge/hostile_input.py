"""Input no handler should ever see, refused once at the edge before any handler runs.

PostgreSQL's text types cannot hold the NUL character: a `\\x00` (or a JSON `\\u0000`) that
reached a query would make it fail with "invalid byte sequence for encoding UTF8: 0x00", a 500.
So every string a client can send — query parameters, headers (some are stored:
Idempotency-Key), and every string and key at any depth of a JSON body or form — is checked
here and refused with 422 `validation_error`, `fields` naming where the NUL was. A path
variable with a NUL names nothing: 404 `not_found` (as any other malformed id), also naming it.

JSON nested deeper than `MAX_JSON_DEPTH` is refused with 400 `invalid_json`: no request of the
API nests more than a few levels, and a deep body (a few kilobytes of `[`) would otherwise make
recursive code further in (decoders, validators, error formatting) raise RecursionError.
Bodies are bounded by MAX_CONTENT_LENGTH (413) before they are read at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from quart import Quart, request, websocket

from server.edge.errors import APIError

MAX_JSON_DEPTH = 64
NUL = "\x00"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)."
# Spelled the only way JSON can spell a NUL inside a string (hex digits of 0 have no case).
_ESCAPED_NUL = b"\\u0000"
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def install_input_checks(app: Quart) -> None:
    """Check every request and WebSocket handshake (after the CSRF and sign-in checks)."""
    app.before_request(refuse_hostile_request)
    app.before_websocket(refuse_hostile_handshake)


async def refuse_hostile_request() -> None:
    _refuse_nul_in_path(request.view_args)
    fields = nul_fields(request.args.items(multi=True), request.headers.items())
    if not fields and request.mimetype in _FORM_TYPES:
        # No route reads a form today; one that does gets the same rule for free.
        form = await request.form
        fields = nul_fields(form.items(multi=True))
    elif not fields:
        fields = await _json_body_nul_fields()
    if fields:
        raise APIError(
            422, "validation_error", "Text may not contain the NUL character.", fields=fields
        )


async def refuse_hostile_handshake() -> None:
    """A socket's path, query (`from`, `to`) and headers: refused before the handshake."""
    _refuse_nul_in_path(websocket.view_args)
    fields = nul_fields(websocket.args.items(multi=True), websocket.headers.items())
    if fields:
        raise APIError(
            422, "validation_error", "Text may not contain the NUL character.", fields=fields
        )


def _refuse_nul_in_path(variables: Mapping[str, Any] | None) -> None:
    fields = {
        name: NUL_MESSAGE
        for name, value in (variables or {}).items()
        if isinstance(value, str) and NUL in value
    }
    if fields:
        raise APIError(404, "not_found", "There is nothing at this address.", fields=fields)


def nul_fields(*named_texts: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The names (query parameters, headers, form fields) whose name or value has a NUL."""
    return {
        _printable(name): NUL_MESSAGE
        for texts in named_texts
        for name, value in texts
        if NUL in name or NUL in value
    }


async def _json_body_nul_fields() -> dict[str, str]:
    body = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    if not body:
        return {}
    # Walking the decoded value is only needed when a NUL is spelled somewhere, or when there
    # are enough brackets to nest past the limit; most bodies are neither.
    might_nest_too_deep = body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
    if _ESCAPED_NUL not in body and not might_nest_too_deep:
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise APIError(400, "invalid_json", "The request body is not valid JSON.") from None
    return json_nul_fields(value)


def json_nul_fields(value: Any) -> dict[str, str]:
    """Where a decoded JSON value carries a NUL (dotted paths, list items by index).

    Raises 400 `invalid_json` when the value nests deeper than MAX_JSON_DEPTH. Iterative, so
    that the walk itself cannot run out of stack.
    """
    fields: dict[str, str] = {}
    pending: list[tuple[Any, str, int]] = [(value, "", 1)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                fields[path or "body"] = NUL_MESSAGE
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise APIError(
                400,
                "invalid_json",
                f"The request body nests more than {MAX_JSON_DEPTH} levels deep.",
            )
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            child_path = f"{path}.{_printable(str(key))}" if path else _printable(str(key))
            if isinstance(key, str) and NUL in key:
                fields[child_path] = NUL_MESSAGE
            pending.append((child, child_path, depth + 1))
    return fields


def _printable(name: str) -> str:
    return name.replace(NUL, "\\u0000")
