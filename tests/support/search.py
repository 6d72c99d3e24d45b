"""Searching services through the API, as the search tests do."""

from __future__ import annotations

from typing import Any

import httpx


async def search(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """GET /api/services with `params`; the page's JSON (a 200 is asserted)."""
    response = await http.get("/api/services", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found
