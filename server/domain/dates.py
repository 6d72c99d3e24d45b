"""Days given by clients as `YYYY-MM-DD`."""

from __future__ import annotations

from datetime import date

from server.infra.errors import APIError


def parse_day(raw: str, field: str = "date") -> date:
    """The day `raw` names; 422 `validation_error` on `field` when it is not a real date (the
    shape itself is checked by the request's schema)."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise APIError(
            422,
            "validation_error",
            "That date does not exist.",
            fields={field: "A real date in the form YYYY-MM-DD."},
        ) from None
