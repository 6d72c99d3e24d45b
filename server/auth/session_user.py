"""quart-auth's user, resolved lazily from the server-side session when a route awaits it."""

from __future__ import annotations

from uuid import UUID

from quart import g
from quart_auth import AuthUser, current_user, login_user, logout_user

from server.edge.errors import APIError
from server.infra.state import db
from server.models import sessions, users
from server.models.users import User


class SessionUser(AuthUser):
    """The cookie's auth_id is a session id; the user behind it is looked up once per request."""

    @property
    def session_id(self) -> UUID | None:
        if self.auth_id is None:
            return None
        try:
            return UUID(self.auth_id)
        except ValueError:
            return None

    @property
    async def is_authenticated(self) -> bool:
        return await self.load_user() is not None

    async def load_user(self) -> User | None:
        if "_session_user" in g:
            cached: User | None = g._session_user
            return cached
        user = await _lookup_user(self.session_id)
        g._session_user = user
        return user


async def _lookup_user(session_id: UUID | None) -> User | None:
    if session_id is None:
        return None
    conn = await db()
    user_id = await sessions.select_session_user_id(conn, session_id)
    return None if user_id is None else await users.select_user(conn, user_id)


def session_user() -> SessionUser:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(user, SessionUser)
    return user


async def optional_user() -> User | None:
    return await session_user().load_user()


def treat_request_as_anonymous() -> None:
    """Resolve this request's user as nobody, whatever cookie it carries (cross-site API calls)."""
    g._session_user = None


async def require_user() -> User:
    """The signed-in user, or a 401 `unauthenticated` error."""
    user = await optional_user()
    if user is None:
        raise APIError(401, "unauthenticated", "Please sign in first.")
    return user


async def start_session(user: User) -> None:
    """Sign `user` in with a fresh session id (a new id on every login defeats fixation)."""
    session_id = await sessions.insert_session(await db(), user.id)
    login_user(SessionUser(str(session_id)), remember=True)
    g._session_user = user


async def end_session() -> UUID | None:
    """Sign out: delete this request's session; the user it signed in, if any."""
    session_id = session_user().session_id
    user_id = None
    if session_id is not None:
        user_id = await sessions.delete_session(await db(), session_id)
    logout_user()
    g._session_user = None
    return user_id
