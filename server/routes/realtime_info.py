"""Where live sockets are opened, for clients that are not our pages (the widget on another
site); our pages read the same from their `appointly-sockets` meta tag."""

from __future__ import annotations

from quart import Blueprint, Response

from server.edge.api_docs import responds
from server.infra.jsonio import json_response
from server.infra.state import config
from server.routes import shapes

blueprint = Blueprint("realtime_info", __name__)


@blueprint.get("/api/realtime")
@responds(200, shapes.RealtimeInfo)
async def get_realtime() -> Response:
    """The socket tier's origin (`ws://…` or `wss://…`) when sockets are served apart from this
    origin; null means this origin serves `/ws/…` itself."""
    return json_response({"sockets_url": config().sockets_public_url})
