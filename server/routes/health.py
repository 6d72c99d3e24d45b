"""Liveness for load balancers: the database and Redis both answer."""

from __future__ import annotations

import asyncio

from quart import Blueprint, Response

from server.edge.api_docs import responds
from server.infra.jsonio import json_response
from server.infra.state import app_state
from server.routes import shapes

blueprint = Blueprint("health", __name__)

_CHECK_TIMEOUT = 2.0


@blueprint.get("/healthz")
@responds(200, shapes.Health)
@responds(503, shapes.Health, description="The database or Redis did not answer.")
async def get_healthz() -> Response:
    """200 `{"ok": true}` when PostgreSQL and Redis answer, else 503 naming what failed."""
    state = app_state()
    failures: list[str] = []
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            await state.pool.fetchval("SELECT 1")
    except Exception:  # any failure means "not healthy", whatever its type
        failures.append("database")
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            await state.require_redis().ping()
    except Exception:
        failures.append("redis")
    if failures:
        return json_response({"ok": False, "failing": failures}, 503)
    return json_response({"ok": True})
