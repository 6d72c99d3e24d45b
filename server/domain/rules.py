"""The one error pure rules raise: which rule was broken, in words a client can show.

Rules know nothing of HTTP; the edge (server.edge.errors) maps each code to a status, 422 unless
it says otherwise.
"""

from __future__ import annotations


class RuleBroken(Exception):
    """Input or a state that a rule refuses, with a stable snake_case `code`."""

    def __init__(self, code: str, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
