"""/waitlist/{id}?key=: a customer's place in line, live; when offered, the time, a countdown
and "Book it"."""

from __future__ import annotations

from quart import Blueprint, render_template, request

from server.auth.session_user import optional_user
from server.edge.errors import APIError
from server.infra.state import config, db
from server.usecases.waitlist import get_entry, parse_entry_id
from server.usecases.waitlist_offers import waitlist_url

blueprint = Blueprint("waitlist_pages", __name__)


async def _not_found_page(title: str) -> tuple[str, int]:
    html = await render_template("error.html", status=404, title=title, user=await optional_user())
    return html, 404


@blueprint.get("/waitlist/<entry_id>")
async def waitlist_page(entry_id: str) -> str | tuple[str, int]:
    """One waitlist entry for its customer (key in the URL, or signed in as the one who
    joined); anyone else is told there is no such entry."""
    key = request.args.get("key")
    user = await optional_user()
    try:
        entry = await get_entry(
            await db(), parse_entry_id(entry_id), key=key, user_id=None if user is None else user.id
        )
    except APIError:
        return await _not_found_page("Waitlist entry not found")
    return await render_template(
        "waitlist.html",
        user=user,
        entry=entry,
        entry_json=entry.to_json(),
        key=key or "",
        link=waitlist_url(config().base_url, entry.id, key) if key else "",
    )
