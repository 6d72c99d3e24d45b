"""CalDAV two-way sync: the provider's calendar receives every booking, and its own events
are the provider's busy times.

Writing is an outbox: every change to a booking queues a `caldav_pushes` row in the change's
transaction (queue_caldav_push, called by server.notifications.triggers); the worker's
push_due reads the booking as it is then and writes or removes its event, with a lease and
back-off, so an outage of the CalDAV server delays the calendar but never loses a change.
Reading (sync_calendars) asks with the last sync token whether anything changed and, when it
did, reads the horizon's events and replaces the 'caldav' busy times whole.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.calendars import caldav_client as client
from server.calendars.caldav_client import CalDAVLogin, CalDAVRefused, CalDAVUnreachable
from server.calendars.caldav_events import booking_event, booking_uid, busy_intervals
from server.calendars.public_urls import check_public_host
from server.domain.appointments import Status
from server.domain.rules import RuleBroken
from server.infra.config import Config
from server.infra.job_queue import retry_delay
from server.infra.metrics import CALENDAR_SYNC_FAILURES
from server.infra.secret_box import SecretUnreadable, decrypt_secret, encrypt_secret
from server.models import caldav as rows
from server.models.appointments import Appointment, select_appointment
from server.models.caldav import CalDAVAccount, CalDAVPush
from server.usecases.busy_times import replace_busy_times
from server.usecases.effects import Effects

log = logging.getLogger(__name__)

PURPOSE = "caldav-password"
# The worker's jobs (jobs/caldav.py): the CalDAV outbox and the busy-times sync.
PUSH_JOB = "push_caldav"
SYNC_JOB = "sync_caldav"
BUSY_SOURCE = "caldav"
LEASE = timedelta(minutes=2)
BATCH_SIZE = 20
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=30)
PAST_DAYS = 1
WRITTEN = frozenset({Status.PENDING, Status.CONFIRMED})


def login_for(account: CalDAVAccount, config: Config) -> CalDAVLogin:
    password = decrypt_secret(config.secret_key, PURPOSE, account.password_encrypted)
    return CalDAVLogin(account.url, account.username, password)


async def checked_login(account: CalDAVAccount, config: Config) -> CalDAVLogin:
    """The account's login, once its host is known to be public (in production: a name that
    later resolves inside the network is refused here, before each push and sync)."""
    if config.app_env == "production":
        await check_public_host(account.url)
    return login_for(account, config)


async def save_account(
    conn: asyncpg.Connection, provider_id: UUID, login: CalDAVLogin, config: Config
) -> CalDAVAccount:
    """Store the (already checked) calendar, its password encrypted, and queue every upcoming
    pending or confirmed booking for it, in one transaction."""
    async with conn.transaction():
        account = await rows.upsert_account(
            conn,
            provider_id,
            login.url,
            login.username,
            encrypt_secret(config.secret_key, PURPOSE, login.password),
        )
        await conn.execute(
            """
            INSERT INTO caldav_pushes (appointment_id, provider_id)
            SELECT a.id, s.provider_id
              FROM appointments AS a
              JOIN services AS s ON s.id = a.service_id
             WHERE s.provider_id = $1
               AND a.status IN ('PENDING', 'CONFIRMED')
               AND a.ends_at > now()
                ON CONFLICT (appointment_id) DO UPDATE
               SET version = caldav_pushes.version + 1,
                   next_attempt_at = now(),
                   attempts = 0
            """,
            provider_id,
        )
    return account


def connected_effects() -> Effects:
    """After connecting: the worker writes the queued bookings and reads the calendar now."""
    effects = Effects()
    effects.nudge(PUSH_JOB)
    effects.nudge(SYNC_JOB)
    return effects


async def queue_caldav_push(conn: asyncpg.Connection, appointment: Appointment) -> None:
    """In the change's transaction: bring this booking's event in the provider's CalDAV
    calendar up to date (nothing when the provider has none)."""
    await rows.queue_push(conn, appointment.id, appointment.provider_id)


async def push_due(pool: Any, config: Config, *, now: datetime | None = None) -> int:
    """Write every due booking event; returns how many were written. Any number of workers."""
    token = uuid.uuid4()
    written = 0
    while True:
        moment = now or datetime.now().astimezone()
        async with pool.acquire() as conn:
            batch = await rows.claim_pushes(
                conn, moment, token=token, lease=LEASE, limit=BATCH_SIZE
            )
        for push in batch:
            written += await _push_one(pool, config, push, moment)
        if len(batch) < BATCH_SIZE:
            return written


async def _push_one(pool: Any, config: Config, push: CalDAVPush, now: datetime) -> int:
    async with pool.acquire() as conn:
        account = await rows.select_account(conn, push.provider_id)
        appointment = await select_appointment(conn, push.appointment_id)
    if account is None or appointment is None:
        async with pool.acquire() as conn:
            await rows.finish_push(conn, push)
        return 0
    error = await _write(account, appointment, config, now)
    async with pool.acquire() as conn:
        if error is None:
            await rows.finish_push(conn, push)
        else:
            delay = retry_delay(push.attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)
            log.warning("caldav push of %s failed: %s", push.appointment_id, error)
            await rows.retry_push(conn, push, error, now + delay)
            await rows.record_sync(conn, account, now=now, error=error)
            CALENDAR_SYNC_FAILURES.labels("caldav_push").inc()
    return 1 if error is None else 0


async def _write(
    account: CalDAVAccount, appointment: Appointment, config: Config, now: datetime
) -> str | None:
    """Put or delete the booking's event; the error text, or None when done."""
    try:
        login = await checked_login(account, config)
        uid = booking_uid(appointment)
        if appointment.status in WRITTEN:
            await client.put_event(login, uid, booking_event(appointment, now))
        else:
            await client.delete_event(login, uid)
    except (CalDAVRefused, CalDAVUnreachable, SecretUnreadable, RuleBroken) as error:
        return str(error)
    return None


@dataclass
class Synced:
    """What a sync sweep did: how many calendars are current, and what watchers must see."""

    calendars: int = 0
    effects: Effects = field(default_factory=Effects)


async def sync_calendars(pool: Any, config: Config, *, now: datetime | None = None) -> Synced:
    """Read every connected calendar's own events into the busy times. Run `.effects` after."""
    async with pool.acquire() as conn:
        accounts = await rows.select_accounts(conn)
    synced = Synced()
    for account in accounts:
        effects = await sync_calendar(pool, config, account, now=now)
        if effects is not None:
            synced.calendars += 1
            synced.effects.add(effects)
    return synced


async def sync_calendar(
    pool: Any, config: Config, account: CalDAVAccount, *, now: datetime | None = None
) -> Effects | None:
    """One calendar: the effects of bringing its busy times up to date, or None when it
    failed (its last busy times are kept and `last_error` says why)."""
    moment = now or datetime.now().astimezone()
    try:
        login = await checked_login(account, config)
        changes = await client.changes_since(login, account.sync_token)
        objects: list[str] | None = None
        if changes.changed:
            start = moment - timedelta(days=PAST_DAYS)
            objects = await client.events_between(login, start, moment + _horizon(config))
    except (CalDAVRefused, CalDAVUnreachable, SecretUnreadable, RuleBroken) as error:
        async with pool.acquire() as conn:
            await rows.record_sync(conn, account, now=moment, error=str(error))
        CALENDAR_SYNC_FAILURES.labels("caldav_pull").inc()
        return None
    effects = Effects()
    async with pool.acquire() as conn:
        if objects is not None:
            effects = await _replace_busy_times(conn, account, objects, moment, config)
        await rows.record_sync(conn, account, now=moment, sync_token=changes.sync_token)
    return effects


def _horizon(config: Config) -> timedelta:
    return timedelta(days=config.slot_horizon_days + 1)


async def _replace_busy_times(
    conn: asyncpg.Connection,
    account: CalDAVAccount,
    objects: list[str],
    now: datetime,
    config: Config,
) -> Effects:
    """The calendar's events, less our own bookings, become the provider's 'caldav' busy times."""
    zone_name: str = await conn.fetchval(
        "SELECT timezone FROM providers WHERE id = $1", account.provider_id
    )
    ours = await rows.select_our_uids(conn, account.provider_id)
    intervals = busy_intervals(
        objects,
        zone=ZoneInfo(zone_name),
        start=now - timedelta(days=PAST_DAYS),
        end=now + _horizon(config),
        skip_uids=ours,
    )
    return await replace_busy_times(conn, account.provider_id, BUSY_SOURCE, intervals, now)
