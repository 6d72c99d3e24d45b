"""Request bodies that may be left out entirely.

quart-schema's `validate_request` needs a body, so routes whose body is optional (a reason for
a move, a country for Stripe onboarding) read it here: nothing at all means the model's
defaults; anything else must be a valid JSON object for the model.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from quart import request

from server.edge.errors import APIError, validation_fields

Body = TypeVar("Body", bound=BaseModel)


async def optional_json_body(model: type[Body]) -> Body:
    """The request's body as `model`; its defaults when the body is empty."""
    raw = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    if not raw.strip():
        return model()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(item["type"] in ("json_invalid", "model_type") for item in error.errors()):
            raise APIError(400, "invalid_json", "The request body must be a JSON object.") from None
        raise APIError(
            422,
            "validation_error",
            "Some fields are missing or invalid.",
            fields=validation_fields(error),
        ) from None
