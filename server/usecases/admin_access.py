"""Who is an operator: a signed-in user whose verified e-mail is in APPOINTLY_ADMIN_EMAILS.

Everyone else, signed in, is answered 404 as if /admin did not exist (the same for the page and
the API), so the route tells a curious customer nothing. The address must be verified: anyone
can sign up with an address they do not own, and an operator's address may not have an
account yet.
"""

from __future__ import annotations

import logging

from server.auth.session_user import optional_user, require_user
from server.edge.errors import APIError
from server.infra.config import Config
from server.infra.state import config
from server.models.users import User

log = logging.getLogger(__name__)


def is_admin(user: User, settings: Config) -> bool:
    if user.email.lower() not in settings.admin_emails:
        return False
    if not user.email_verified:
        log.warning("admin address %s signed in without a verified e-mail", user.id)
        return False
    return True


async def require_admin() -> User:
    """The signed-in operator: 401 `unauthenticated` when signed out, 404 `not_found` for
    everyone else."""
    user = await require_user()
    if not is_admin(user, config()):
        raise APIError(404, "not_found", "Not found.")
    return user


async def signed_in_admin() -> tuple[User | None, bool]:
    """For the page: the signed-in user (or None) and whether they are an operator."""
    user = await optional_user()
    return user, user is not None and is_admin(user, config())
