"""Delivering the outbox: once per message with workers racing or killed, retried while the SMTP
server is down, and logged instead of sent when no SMTP server is configured."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from server.infra.config import Config
from server.infra.db import create_pool
from server.notifications.delivery import deliver_due
from server.notifications.mailer import message_id
from server.notifications.outbox import queue_email
from tests.conftest import Mailbox
from tests.support.cli_process import APPOINTLY, REPOSITORY, appointly_env
from tests.support.serving import free_port


def mail_config(port: int, **changes: Any) -> Config:
    return Config(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False).with_changes(
        **changes
    )


async def queue_messages(db: asyncpg.Connection, count: int) -> list[str]:
    """`count` e-mails in the outbox; their Message-IDs."""
    ids = []
    async with db.transaction():
        for number in range(count):
            assert await queue_email(
                db,
                kind="booking_not_completed",
                to=f"customer{number}@example.com",
                context={
                    "customer_name": f"Customer {number}",
                    "service_name": "Consultation",
                    "day": "Thursday 26 November 2026",
                    "start_time": "09:00",
                },
                dedupe_key=f"test:{number}",
            )
    for row in await db.fetch("SELECT id FROM outbox"):
        ids.append(message_id(row["id"]))
    return ids


def received_ids(messages: list[EmailMessage]) -> Counter[str]:
    return Counter(str(message["Message-ID"]) for message in messages)


async def wait_until_received(mailbox: Mailbox, count: int, timeout: float = 30) -> None:
    await mailbox.wait_for(lambda _: len(received_ids(mailbox.messages)) >= count, timeout)


class SlowMailbox(Mailbox):
    """An SMTP server that takes a while over each message, so a batch is caught mid-way."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def slow_smtp() -> Any:
    mailbox = SlowMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


async def test_the_same_event_queued_twice_is_one_message(db: asyncpg.Connection) -> None:
    first = await queue_messages(db, 1)
    again = await queue_email(
        db,
        kind="booking_not_completed",
        to="someone@example.com",
        context={"customer_name": "x", "service_name": "y", "day": "z", "start_time": "w"},
        dedupe_key="test:0",
    )
    assert len(first) == 1 and again is False
    assert await db.fetchval("SELECT count(*) FROM outbox") == 1


async def test_two_workers_racing_send_each_message_exactly_once(
    db: asyncpg.Connection, database_url: str, smtp_server: tuple[Mailbox, int], mailbox: Mailbox
) -> None:
    expected = await queue_messages(db, 40)
    config = mail_config(smtp_server[1])
    pools = [await create_pool(database_url, max_size=2) for _ in range(2)]
    try:
        sent = await asyncio.gather(*(deliver_due(pool, config, batch_size=5) for pool in pools))
    finally:
        for pool in pools:
            await pool.close()

    assert sum(sent) == 40
    assert all(count > 0 for count in sent), sent  # both really took part
    await wait_until_received(mailbox, 40)
    assert received_ids(mailbox.messages) == Counter(expected)
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'") == 40


async def test_messages_wait_while_the_smtp_server_is_down_and_go_out_when_it_returns(
    db: asyncpg.Connection, db_pool: Any, smtp_server: tuple[Mailbox, int], mailbox: Mailbox
) -> None:
    expected = await queue_messages(db, 3)
    now = datetime.now(UTC)
    down = mail_config(free_port())  # nothing listens there

    assert await deliver_due(db_pool, down, now=now) == 0
    rows = await db.fetch("SELECT status, attempts, last_error, next_attempt_at FROM outbox")
    assert {(row["status"], row["attempts"]) for row in rows} == {("pending", 1)}
    assert all(row["last_error"] and row["next_attempt_at"] > now for row in rows)
    assert await deliver_due(db_pool, down, now=now + timedelta(seconds=1)) == 0  # backing off
    assert await db.fetchval("SELECT max(attempts) FROM outbox") == 1

    assert await deliver_due(db_pool, down, now=now + timedelta(seconds=3)) == 0
    assert await db.fetchval("SELECT min(attempts) FROM outbox") == 2

    back = mail_config(smtp_server[1])
    assert await deliver_due(db_pool, back, now=now + timedelta(seconds=10)) == 3
    await wait_until_received(mailbox, 3)
    assert received_ids(mailbox.messages) == Counter(expected)


async def test_without_an_smtp_host_mail_is_logged_instead_of_sent(
    db: asyncpg.Connection, db_pool: Any, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    await queue_messages(db, 1)
    with caplog.at_level(logging.INFO, logger="server.notifications.mailer"):
        assert await deliver_due(db_pool, Config(smtp_host=None)) == 1
    assert "customer0@example.com" in caplog.text
    assert "Your booking was not completed" in caplog.text
    assert mailbox.messages == []


async def test_a_worker_killed_mid_batch_loses_nothing(
    db: asyncpg.Connection,
    database_url: str,
    redis_url: str,
    slow_smtp: tuple[SlowMailbox, int],
    tmp_path: Path,
) -> None:
    mailbox, port = slow_smtp
    expected = await queue_messages(db, 30)
    env = appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        APP_ENV="test",
        SECRET_KEY="test-secret-key",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        SMTP_STARTTLS="false",
    )

    first = await start_worker(env, tmp_path / "first.log")
    try:
        await wait_until_received(mailbox, 5)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    sent_before = len(received_ids(mailbox.messages))
    assert sent_before < 30, "the worker finished before it could be killed"
    leased = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE status = 'pending' AND locked_until > now()"
    )
    assert leased > 0
    # Time travel: the dead worker's lease runs out.
    await db.execute("UPDATE outbox SET locked_until = now() WHERE locked_until > now()")

    second = await start_worker(env, tmp_path / "second.log")
    try:
        await wait_until_received(mailbox, 30, timeout=60)
        await wait_until_all_sent(db)
    finally:
        second.send_signal(signal.SIGINT)
        await asyncio.wait_for(second.wait(), 30)

    received = received_ids(mailbox.messages)
    assert set(received) == set(expected)
    # At most the one message in flight at the kill comes twice, with the same Message-ID.
    assert sum(received.values()) - len(expected) <= 1


async def wait_until_all_sent(db: asyncpg.Connection, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while await db.fetchval("SELECT count(*) FROM outbox WHERE status <> 'sent'"):
            await asyncio.sleep(0.05)


async def start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as handle:
        return await asyncio.create_subprocess_exec(
            APPOINTLY, "worker", env=env, cwd=REPOSITORY, stdout=handle, stderr=handle
        )
