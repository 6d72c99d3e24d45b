"""Days: given by clients as `YYYY-MM-DD`, written for people in full."""

from __future__ import annotations

from datetime import date, datetime

from server.domain.rules import RuleBroken


def parse_day(raw: str, field: str = "date") -> date:
    """The day `raw` names; 422 `validation_error` on `field` when it is not a real date (the
    shape itself is checked by the request's schema)."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RuleBroken(
            "validation_error",
            "That date does not exist.",
            fields={field: "A real date in the form YYYY-MM-DD."},
        ) from None


def format_day(moment: datetime) -> str:
    """ "Tuesday 24 November 2026"."""
    return f"{moment:%A} {moment.day} {moment:%B %Y}"
