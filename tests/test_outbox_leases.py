"""A delivery run slow enough for its lease to run out: the next run takes over what is left,
and each message still goes out once (issue 11, point 15)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from server.infra.config import Config
from server.infra.db import create_pool
from server.notifications.delivery import deliver_due
from server.notifications.outbox import queue_sms
from tests.support.twilio_stub import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TwilioStandIn

RECIPIENTS = ("+447700900001", "+447700900002", "+447700900003")


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    stand_in = TwilioStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def second_pool(database_url: str) -> AsyncIterator[Any]:
    """Another worker process's pool."""
    pool = await create_pool(database_url, max_size=2)
    yield pool
    await pool.close()


def sms_config(twilio: TwilioStandIn) -> Config:
    return Config(
        smtp_host=None,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM_NUMBER,
        twilio_api_base=twilio.url,
    )


async def queue_texts(db: asyncpg.Connection, recipients: tuple[str, ...]) -> None:
    async with db.transaction():
        for number, recipient in enumerate(recipients):
            assert await queue_sms(
                db,
                kind="reminder_customer",
                to=recipient,
                context={
                    "service_name": "Consultation",
                    "business_name": "Ada's Clinic",
                    "when_text": "in 1 hour",
                    "day": "Thursday 26 November 2026",
                    "start_time": "09:00",
                    "timezone": "Europe/London",
                    "token": number + 1,
                },
                dedupe_key=f"lease-test:{number}",
            )


async def batch_lease_runs_out(db: asyncpg.Connection) -> int:
    """Time travel: the lease the first run took on its whole batch runs out. A lease renewed
    just now for the one message in flight is later than that, so it still holds."""
    expired: str = await db.execute(
        """
        UPDATE outbox
           SET locked_until = now() - interval '1 second'
         WHERE status = 'pending'
           AND locked_until = (SELECT min(locked_until) FROM outbox WHERE status = 'pending')
        """
    )
    return int(expired.split()[-1])


def texts_sent(twilio: TwilioStandIn) -> Counter[str]:
    return Counter(text.to for text in twilio.sent)


async def test_a_slow_batch_claimed_again_by_the_next_run_sends_each_message_once(
    db: asyncpg.Connection, db_pool: Any, second_pool: Any, twilio: TwilioStandIn
) -> None:
    await queue_texts(db, RECIPIENTS)
    config = sms_config(twilio)
    twilio.hold_next()  # Twilio is slow over the first run's first message
    first = asyncio.create_task(deliver_due(db_pool, config))
    await twilio.wait_until_held(1)

    # Meanwhile the first run's lease on the rest of its batch runs out: the next run (another
    # worker, the cron sweep) claims those rows and sends them.
    assert await batch_lease_runs_out(db) == 2
    assert await deliver_due(second_pool, config) == 2
    twilio.release()
    assert await asyncio.wait_for(first, 10) == 1

    assert texts_sent(twilio) == Counter(RECIPIENTS)
    statuses = await db.fetch("SELECT status, lease_token, locked_until FROM outbox")
    assert {tuple(row) for row in statuses} == {("sent", None, None)}


async def test_a_run_whose_lease_was_taken_over_records_no_failure_over_the_new_holder(
    db: asyncpg.Connection, db_pool: Any, second_pool: Any, twilio: TwilioStandIn
) -> None:
    await queue_texts(db, RECIPIENTS[:1])
    config = sms_config(twilio)
    twilio.hold_next(2)
    first = asyncio.create_task(deliver_due(db_pool, config))
    await twilio.wait_until_held(1)
    # The first run's send outlasts even the lease it renewed for it: the next run takes the
    # message over and is sending it in turn.
    await db.execute("UPDATE outbox SET locked_until = now() - interval '1 second'")
    second = asyncio.create_task(deliver_due(second_pool, config))
    await twilio.wait_until_held(2)

    twilio.release(fail=True)  # the first run's attempt fails at last
    assert await asyncio.wait_for(first, 10) == 0
    row = await db.fetchrow("SELECT status, locked_until > now() AS leased, last_error FROM outbox")
    assert row is not None
    assert (row["status"], row["leased"], row["last_error"]) == ("pending", True, None)
    # So a third run finds nothing to do while the second is still sending.
    assert await deliver_due(db_pool, config) == 0

    twilio.release()
    assert await asyncio.wait_for(second, 10) == 1
    assert texts_sent(twilio) == Counter(RECIPIENTS[:1])
    assert await db.fetchval("SELECT status FROM outbox") == "sent"
