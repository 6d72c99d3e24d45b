"""Busy calendars: the provider's outside iCal addresses, and syncing each into busy times.

PUT replaces the list (at most five); a removed calendar's busy times go at once, a new one is
fetched by the worker right away (the route nudges SYNC_JOB) and then every BUSY_SYNC_MINUTES.
A sync that fails keeps the calendar's last busy times and records `last_error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from server.calendars.fetch import fetch_calendar
from server.calendars.ics_busy import busy_intervals
from server.calendars.public_urls import check_public_host, check_url_syntax
from server.domain.rules import RuleBroken
from server.infra.config import Config
from server.infra.metrics import CALENDAR_SYNC_FAILURES
from server.models import busy_calendars
from server.models.busy_calendars import BusyCalendar
from server.models.providers import Provider
from server.usecases.busy_times import clear_busy_source, replace_busy_times
from server.usecases.effects import Effects

log = logging.getLogger(__name__)

SYNC_JOB = "sync_busy_calendars"
MAX_CALENDARS = 5
# Busy times are kept from a day back (a slot starting now still checks them) to the furthest
# horizon a service can have.
PAST_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class CalendarsSet:
    calendars: list[BusyCalendar]
    effects: Effects


async def check_urls(urls: Sequence[str], config: Config) -> list[str]:
    """The URLs cleaned and without repeats; RuleBroken for too many, a bad one, or (in
    production) one whose host is not public."""
    if len(urls) > MAX_CALENDARS:
        raise RuleBroken("too_many_calendars", f"At most {MAX_CALENDARS} busy calendars.")
    cleaned: list[str] = []
    for index, raw in enumerate(urls):
        try:
            url = check_url_syntax(raw)
            if config.app_env == "production":
                await check_public_host(url)
        except RuleBroken as rule:
            raise RuleBroken(
                rule.code, rule.message, fields={f"urls.{index}": rule.message}
            ) from None
        if url not in cleaned:
            cleaned.append(url)
    return cleaned


async def put_busy_calendars(
    conn: asyncpg.Connection,
    config: Config,
    provider: Provider,
    urls: Sequence[str],
    *,
    now: datetime,
) -> CalendarsSet:
    """The provider's busy calendars become `urls` (checked first, outside any transaction)."""
    cleaned = await check_urls(urls, config)
    effects = Effects()
    async with conn.transaction():
        await busy_calendars.lock_provider_calendars(conn, provider.id)
        removed = await busy_calendars.replace_list(conn, provider.id, cleaned)
        for calendar in removed:
            effects.add(await clear_busy_source(conn, provider.id, calendar.source, now))
        calendars = await busy_calendars.select_for_provider(conn, provider.id)
    if any(calendar.last_attempt_at is None for calendar in calendars):
        effects.nudge(SYNC_JOB)
    return CalendarsSet(calendars, effects)


async def list_busy_calendars(conn: asyncpg.Connection, provider: Provider) -> list[BusyCalendar]:
    return await busy_calendars.select_for_provider(conn, provider.id)


async def claim_due_calendars(
    conn: asyncpg.Connection, config: Config, now: datetime, limit: int
) -> list[BusyCalendar]:
    return await busy_calendars.claim_due(
        conn, now, timedelta(minutes=config.busy_sync_minutes), limit
    )


async def sync_calendar(
    conn: asyncpg.Connection, config: Config, calendar: BusyCalendar, now: datetime
) -> Effects:
    """Fetch one calendar and store its busy times; on failure keep the last ones and record
    the error. Holds no transaction while fetching."""
    fetched = await fetch_calendar(
        calendar.url,
        etag=calendar.etag,
        last_modified=calendar.last_modified,
        public_only=config.app_env == "production",
    )
    if fetched.error is not None:
        await busy_calendars.record_error(conn, calendar.id, fetched.error)
        CALENDAR_SYNC_FAILURES.labels("busy_feed").inc()
        log.info("busy calendar %s failed: %s", calendar.id, fetched.error)
        return Effects()
    if fetched.not_modified or fetched.body is None:
        await busy_calendars.record_success(
            conn, calendar.id, now, etag=fetched.etag, last_modified=fetched.last_modified
        )
        return Effects()
    zone, horizon_days = await _provider_window(conn, calendar, config)
    try:
        intervals = await asyncio.to_thread(
            busy_intervals,
            fetched.body,
            zone,
            now - PAST_WINDOW,
            now + timedelta(days=horizon_days + 1),
        )
    except RuleBroken as rule:
        await busy_calendars.record_error(conn, calendar.id, rule.message)
        CALENDAR_SYNC_FAILURES.labels("busy_feed").inc()
        return Effects()
    async with conn.transaction():
        still_there = await busy_calendars.record_success(
            conn, calendar.id, now, etag=fetched.etag, last_modified=fetched.last_modified
        )
        if not still_there:
            return Effects()  # removed while we fetched: its busy times went with it
        return await replace_busy_times(conn, calendar.provider_id, calendar.source, intervals, now)


async def _provider_window(
    conn: asyncpg.Connection, calendar: BusyCalendar, config: Config
) -> tuple[ZoneInfo, int]:
    row = await conn.fetchrow(
        """
        SELECT p.timezone,
               (SELECT max(s.horizon_days) FROM services AS s WHERE s.provider_id = p.id)
                   AS horizon_days
          FROM providers AS p
         WHERE p.id = $1
        """,
        calendar.provider_id,
    )
    horizon = max(config.slot_horizon_days, row["horizon_days"] or 0)
    return ZoneInfo(row["timezone"]), horizon
