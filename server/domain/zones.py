"""IANA time zone names this server knows. No I/O after the first call.

`zoneinfo.available_timezones()` walks the whole zone database on disk on every call (several
milliseconds, on the event loop), so it is read once per process here and every check of a
client's zone asks this set.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def known_timezones() -> frozenset[str]:
    """Every zone name the installed database has (read once)."""
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """An IANA zone name this server can use, spelled exactly (Europe/London)."""
    if name not in known_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
