"""SMS reminders: with TWILIO_* set, a customer who gave a phone also gets each reminder as a
text message, sent through the real twilio SDK to a local stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from server.infra.config import Config
from server.notifications.delivery import deliver_due
from server.notifications.reminders import queue_due_reminders
from tests.conftest import LiveApp, Mailbox
from tests.support.twilio_stub import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TwilioStandIn
from tests.test_reminders import confirmed_booking


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    stand_in = TwilioStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


def with_twilio(config: Config, twilio: TwilioStandIn) -> Config:
    return config.with_changes(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM_NUMBER,
        twilio_api_base=twilio.url,
    )


@pytest.fixture
async def booked(live_app: LiveApp, db: asyncpg.Connection) -> AsyncIterator[Any]:
    http, appointment_id, starts = await confirmed_booking(
        live_app, db, booked_before_start=timedelta(days=3)
    )
    yield appointment_id, starts
    await http.aclose()


async def test_a_customer_with_a_phone_gets_each_reminder_by_text_too(
    booked: Any,
    live_app: LiveApp,
    twilio: TwilioStandIn,
    db_pool: Any,
    db: asyncpg.Connection,
    mailbox: Mailbox,
) -> None:
    _, starts = booked
    config = with_twilio(live_app.config, twilio)
    now = starts - timedelta(minutes=50)

    assert (
        await queue_due_reminders(db_pool, config, now=now) == 6
    )  # 2 offsets x (2 mails + 1 text)
    assert await queue_due_reminders(db_pool, config, now=now) == 0
    assert await deliver_due(db_pool, config, now=now) == 6

    assert sorted(text.to for text in twilio.sent) == ["+447700900123"] * 2
    assert {text.from_ for text in twilio.sent} == {FROM_NUMBER}
    bodies = sorted(text.body for text in twilio.sent)
    assert "in 1 day" in bodies[0] and "in 1 hour" in bodies[1]
    assert all("Consultation with Ada's Clinic" in body for body in bodies)
    assert len(mailbox.messages) == 4
    channels = await db.fetch("SELECT channel, count(*) FROM outbox GROUP BY channel ORDER BY 1")
    assert [tuple(row) for row in channels] == [("email", 4), ("sms", 2)]


async def test_a_text_twilio_refuses_is_retried_later(
    booked: Any, live_app: LiveApp, twilio: TwilioStandIn, db_pool: Any, db: asyncpg.Connection
) -> None:
    _, starts = booked
    config = with_twilio(live_app.config.with_changes(reminder_offsets=(60,)), twilio)
    now = starts - timedelta(minutes=50)
    await queue_due_reminders(db_pool, config, now=now)
    twilio.fail_next()

    assert await deliver_due(db_pool, config, now=now) == 2  # the e-mails
    failed = await db.fetchrow("SELECT attempts, last_error FROM outbox WHERE channel = 'sms'")
    assert failed["attempts"] == 1 and "SmsUnavailable" in failed["last_error"]
    assert twilio.sent == []

    assert await deliver_due(db_pool, config, now=now + timedelta(seconds=5)) == 1
    assert len(twilio.sent) == 1


async def test_without_twilio_settings_no_text_is_queued(
    booked: Any, live_app: LiveApp, db_pool: Any, db: asyncpg.Connection
) -> None:
    _, starts = booked
    assert (
        await queue_due_reminders(db_pool, live_app.config, now=starts - timedelta(minutes=50)) == 4
    )
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE channel = 'sms'") == 0
