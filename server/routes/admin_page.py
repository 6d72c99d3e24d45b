"""The operator's page, /admin: the overview rendered on the server, with a "Retry" button on
each failed message (static/js/admin.js). Signed out: the login page; not an operator: 404."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from quart import Blueprint, redirect, render_template
from werkzeug.wrappers.response import Response as WerkzeugResponse

from server.infra.state import db
from server.usecases.admin_access import signed_in_admin
from server.usecases.admin_overview import read_overview

blueprint = Blueprint("admin_pages", __name__)


@blueprint.get("/admin")
async def admin_page() -> str | WerkzeugResponse | tuple[str, int]:
    """The operator's overview page (APPOINTLY_ADMIN_EMAILS only)."""
    user, allowed = await signed_in_admin()
    if user is None:
        return redirect(f"/login?next={quote('/admin', safe='/')}")
    if not allowed:
        html = await render_template("error.html", status=404, title="Page not found", user=user)
        return html, 404
    overview = await read_overview(await db(), datetime.now(UTC))
    return await render_template("admin.html", user=user, overview=overview.to_json())
