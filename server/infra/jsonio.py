"""JSON in and out with orjson: the app's JSON provider and a response helper."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import JSONProvider
from quart import Response

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def _default(value: Any) -> Any:
    # pydantic models (quart-schema's OpenAPI document, response models) are plain dicts to us.
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class OrjsonProvider(JSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status=status, content_type="application/json")
