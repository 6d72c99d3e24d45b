"""The CalDAV adapter: the `caldav` library (1.x, blocking, over requests) run in a thread.

Every call opens its own client with a short timeout and maps the library's errors to two:
CalDAVRefused (the server answered no: wrong password, no calendar at that URL) and
CalDAVUnreachable (no answer: down, timed out). Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import caldav
import requests
from caldav.lib import error as dav_error

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


class CalDAVRefused(Exception):
    """The server answered, and the answer was no."""


class CalDAVUnreachable(Exception):
    """The server did not answer (down, refused the connection, timed out)."""


@dataclass(frozen=True)
class CalDAVLogin:
    url: str
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never the password, in logs or tracebacks
        return f"CalDAVLogin(url={self.url!r}, username={self.username!r})"


@dataclass(frozen=True)
class Changes:
    """What a sync-collection REPORT said: whether anything changed, and the new token."""

    changed: bool
    sync_token: str | None


def _calendar(login: CalDAVLogin) -> Any:
    client = caldav.DAVClient(
        login.url, username=login.username, password=login.password, timeout=TIMEOUT_SECONDS
    )
    return client.calendar(url=login.url)  # type: ignore[no-untyped-call]


def _event_url(calendar: Any, uid: str) -> Any:
    return calendar.url.join(quote(uid.replace("/", "_"), safe="@") + ".ics")


def _check(login: CalDAVLogin) -> None:
    components = _calendar(login).get_supported_components()
    if components and "VEVENT" not in components:
        raise CalDAVRefused("this collection does not hold events")


def _put(login: CalDAVLogin, uid: str, ical: str) -> None:
    calendar = _calendar(login)
    caldav.Event(calendar.client, url=_event_url(calendar, uid), data=ical, parent=calendar).save()


def _delete(login: CalDAVLogin, uid: str) -> None:
    calendar = _calendar(login)
    with contextlib.suppress(dav_error.NotFoundError):  # already gone: what a delete wants
        caldav.Event(calendar.client, url=_event_url(calendar, uid), parent=calendar).delete()


def _changes(login: CalDAVLogin, sync_token: str | None) -> Changes:
    calendar = _calendar(login)
    try:
        found = calendar.objects_by_sync_token(sync_token=sync_token, load_objects=False)
    except dav_error.ReportError:
        return Changes(changed=True, sync_token=None)  # no sync-collection: read it all
    token = found.sync_token
    return Changes(
        changed=sync_token is None or token != sync_token or bool(found.objects), sync_token=token
    )


def _events_between(login: CalDAVLogin, start: datetime, end: datetime) -> list[str]:
    calendar = _calendar(login)
    found = calendar.search(start=start, end=end, event=True, expand=False)
    return [str(item.data) for item in found if item.data]


async def _run(function: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(function, *args)
    except dav_error.AuthorizationError as error:
        raise CalDAVRefused("the server refused this username and password") from error
    except dav_error.NotFoundError as error:
        raise CalDAVRefused("there is no calendar at this URL") from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise CalDAVUnreachable("the CalDAV server did not answer") from error
    except dav_error.DAVError as error:
        raise CalDAVRefused(f"the CalDAV server said: {str(error)[:200]}") from error
    except requests.RequestException as error:
        raise CalDAVUnreachable(f"the CalDAV server could not be reached: {error}") from error
    except Exception as error:
        # The library trips over some URLs and answers (e.g. IndexError on "http://host" with
        # no path): whatever the outside server or address did, it is a refusal, never a 500.
        log.warning("caldav call failed: %s: %s", type(error).__name__, error)
        raise CalDAVRefused("this URL did not answer like a CalDAV calendar") from error


async def check_calendar(login: CalDAVLogin) -> None:
    """Connect once and ask the calendar what it holds: refused, unreachable, or fine."""
    await _run(_check, login)


async def put_event(login: CalDAVLogin, uid: str, ical: str) -> None:
    """Create or replace the event stored under `uid`."""
    await _run(_put, login, uid, ical)


async def delete_event(login: CalDAVLogin, uid: str) -> None:
    """Remove the event stored under `uid` (none there is fine)."""
    await _run(_delete, login, uid)


async def changes_since(login: CalDAVLogin, sync_token: str | None) -> Changes:
    """Ask with the last sync token whether the calendar changed (RFC 6578); a server without
    sync-collection always says it did, and the caller reads the time range."""
    result: Changes = await _run(_changes, login, sync_token)
    return result


async def events_between(login: CalDAVLogin, start: datetime, end: datetime) -> list[str]:
    """The iCalendar text of every object with an event in [start, end) (a time-range REPORT)."""
    result: list[str] = await _run(_events_between, login, start, end)
    return result
