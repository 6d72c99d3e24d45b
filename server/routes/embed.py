"""The provider's `/embed` page: the widget snippet for each service, with a live preview."""

from __future__ import annotations

from quart import Blueprint, redirect, render_template
from werkzeug.wrappers.response import Response as WerkzeugResponse

from server.auth.session_user import optional_user
from server.infra.state import config, db
from server.models.providers import select_provider_by_user
from server.models.services import select_provider_services

blueprint = Blueprint("embed", __name__)


@blueprint.get("/embed")
async def embed_page() -> str | WerkzeugResponse:
    """Copy-and-paste widget snippets for the provider's services (providers only)."""
    user = await optional_user()
    if user is None:
        return redirect("/login?next=/embed")
    conn = await db()
    provider = await select_provider_by_user(conn, user.id)
    if provider is None:
        return redirect("/onboarding")
    services = await select_provider_services(conn, provider.id)
    return await render_template(
        "embed.html",
        user=user,
        provider=provider,
        services=services,
        widget_src=f"{config().base_url}/static/widget.js",
    )
