"""E-mail through the outbox: each booking event reaches each recipient exactly once, read back
from a real SMTP server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from icalendar import Calendar

from server.domain.appointments import Move, PaymentStatus
from server.models.appointments import select_appointment
from server.notifications.delivery import deliver_due
from server.notifications.outbox import drop_held, release_held
from server.notifications.triggers import queue_booking_received
from server.usecases.appointments import Actor, move_appointment
from tests.conftest import LiveApp, Mailbox, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow

PROVIDER_EMAIL = "ada@example.com"
CUSTOMER_EMAIL = "grace@example.com"


@dataclasses.dataclass
class Booked:
    appointment: dict[str, Any]
    manage_url: str

    @property
    def id(self) -> str:
        return str(self.appointment["id"])


@pytest.fixture
async def provider(live_app: LiveApp) -> Any:
    async with live_app.client() as http:
        await make_provider(http, business_name="Ada's Clinic", timezone="Europe/London")
        service = await create_service(http, location="1 Analytical Row")
        yield http, service


async def book_one(
    live_app: LiveApp, service: dict[str, Any], index: int = 0, **fields: Any
) -> Booked:
    async with live_app.client() as guest:
        slot = (await free_slots(guest, service["id"], tomorrow()))[index]
        response = await book(guest, slot["id"], **fields)
    assert response.status_code == 201, response.text
    body = response.json()
    return Booked(body["appointment"], body["manage_url"])


async def deliver(db_pool: Any, live_app: LiveApp, **kwargs: Any) -> int:
    return await deliver_due(db_pool, live_app.config, **kwargs)


def to(address: str) -> Any:
    return lambda message: message["To"] == address


def mail_to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [message for message in mailbox.messages if message["To"] == address]


def subject_of(message: EmailMessage) -> str:
    # A long subject is folded onto the next line; unfolding leaves the fold's space.
    return str(message["Subject"]).strip()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


async def outbox_kinds(db: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await db.fetch("SELECT kind, recipient FROM outbox ORDER BY kind, recipient")
    return [(row["kind"], row["recipient"]) for row in rows]


async def test_a_booking_sends_the_customer_the_manage_link_and_the_provider_the_dashboard(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any
) -> None:
    _, service = provider
    booked = await book_one(live_app, service)

    assert await deliver(db_pool, live_app) == 2
    received = await mailbox.wait_for(to(CUSTOMER_EMAIL))
    new_booking = await mailbox.wait_for(to(PROVIDER_EMAIL))

    assert subject_of(received).startswith("Booking received: Consultation")
    assert booked.manage_url in text_of(received)
    assert f'href="{booked.manage_url}"' in html_of(received)
    assert "1 Analytical Row" in text_of(received)
    assert subject_of(new_booking).startswith("New booking: Grace Hopper")
    assert f"{live_app.config.base_url}/dashboard" in text_of(new_booking)
    assert booked.manage_url not in text_of(new_booking)
    assert await deliver(db_pool, live_app) == 0
    assert len(mailbox.messages) == 2


async def test_each_side_reads_times_in_its_own_zone(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any
) -> None:
    _, service = provider
    booked = await book_one(live_app, service, customer_timezone="America/New_York")
    starts = datetime.fromisoformat(booked.appointment["start_time"])

    await deliver(db_pool, live_app)
    customer = text_of(await mailbox.wait_for(to(CUSTOMER_EMAIL)))
    owner = text_of(await mailbox.wait_for(to(PROVIDER_EMAIL)))

    in_new_york = starts.astimezone(ZoneInfo("America/New_York"))
    in_london = starts.astimezone(ZoneInfo("Europe/London"))
    assert f"{in_new_york:%H:%M}" != f"{in_london:%H:%M}"
    assert f"{in_new_york:%H:%M}" in customer and "(America/New_York)" in customer
    assert f"{in_london:%H:%M}" in owner and "(Europe/London)" in owner


async def test_confirming_sends_one_confirmation_whose_calendar_file_has_the_right_times(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any
) -> None:
    http, service = provider
    booked = await book_one(live_app, service)
    await deliver(db_pool, live_app)
    mailbox.messages.clear()

    response = await http.post(f"/api/appointments/{booked.id}/confirm")
    assert response.status_code == 200, response.text
    await deliver(db_pool, live_app)

    confirmed = await mailbox.wait_for(to(CUSTOMER_EMAIL))
    assert subject_of(confirmed).startswith("Confirmed: Consultation")
    [attachment] = list(confirmed.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "appointment.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    [event] = calendar.walk("VEVENT")
    starts, ends = event.decoded("dtstart"), event.decoded("dtend")
    assert starts == datetime.fromisoformat(booked.appointment["start_time"])
    assert ends == datetime.fromisoformat(booked.appointment["end_time"])
    assert str(starts.tzinfo) == "Europe/London"
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert len(mailbox.messages) == 1


async def test_rejecting_sends_one_rejected_email_and_no_cancelled_one(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any, db: asyncpg.Connection
) -> None:
    http, service = provider
    booked = await book_one(live_app, service)
    await deliver(db_pool, live_app)
    mailbox.messages.clear()

    assert (await http.post(f"/api/appointments/{booked.id}/reject")).status_code == 200
    await deliver(db_pool, live_app)

    [rejected] = mail_to(mailbox, CUSTOMER_EMAIL)
    assert subject_of(rejected).startswith("Not available: Consultation")
    assert mail_to(mailbox, PROVIDER_EMAIL) == []
    assert ("booking_cancelled", CUSTOMER_EMAIL) not in await outbox_kinds(db)


async def test_the_provider_cancelling_tells_the_customer_only(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any
) -> None:
    http, service = provider
    booked = await book_one(live_app, service)
    assert (await http.post(f"/api/appointments/{booked.id}/confirm")).status_code == 200
    await deliver(db_pool, live_app)
    mailbox.messages.clear()

    assert (await http.post(f"/api/appointments/{booked.id}/cancel")).status_code == 200
    await deliver(db_pool, live_app)

    [cancelled] = mail_to(mailbox, CUSTOMER_EMAIL)
    assert subject_of(cancelled).startswith("Cancelled: Consultation")
    assert "Ada's Clinic cancelled your booking" in text_of(cancelled)
    assert mail_to(mailbox, PROVIDER_EMAIL) == []


async def test_the_customer_cancelling_gets_a_receipt_and_the_provider_is_told(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any
) -> None:
    _, service = provider
    booked = await book_one(live_app, service)
    await deliver(db_pool, live_app)
    mailbox.messages.clear()

    async with live_app.client() as guest:
        key = parse_qs(urlsplit(booked.manage_url).query)["key"][0]
        response = await guest.post(f"/api/bookings/{booked.id}/cancel", params={"key": key})
    assert response.status_code == 200, response.text
    await deliver(db_pool, live_app)

    [receipt] = mail_to(mailbox, CUSTOMER_EMAIL)
    [told] = mail_to(mailbox, PROVIDER_EMAIL)
    assert subject_of(receipt).startswith("You cancelled: Consultation")
    assert subject_of(told).startswith("Cancelled by the customer: Grace Hopper")
    assert "open for booking again" in text_of(told)


# --- Bookings awaiting online payment ---------------------------------------------------------


async def make_awaiting_payment(db: asyncpg.Connection, appointment_id: UUID) -> None:
    """What an online booking looks like before it is paid: its messages held."""
    await db.execute("DELETE FROM outbox WHERE appointment_id = $1", appointment_id)
    await db.execute(
        """
        UPDATE appointments
           SET payment_status = 'awaiting_payment',
               hold_expires_at = now() + interval '15 minutes',
               stripe_checkout_session_id = 'cs_test_held'
         WHERE id = $1
        """,
        appointment_id,
    )
    appointment = await select_appointment(db, appointment_id)
    assert appointment is not None and appointment.payment_status is PaymentStatus.AWAITING_PAYMENT
    async with db.transaction():
        await queue_booking_received(
            db, appointment, manage_url="http://x/bookings/1?key=k", base_url="http://x"
        )


async def test_an_unpaid_booking_s_messages_wait_until_it_is_paid(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any, db: asyncpg.Connection
) -> None:
    _, service = provider
    booked = await book_one(live_app, service)
    await make_awaiting_payment(db, UUID(booked.id))

    assert await deliver(db_pool, live_app) == 0
    assert await release_held(db, UUID(booked.id)) == 2
    assert await deliver(db_pool, live_app) == 2

    assert [subject_of(m)[:16] for m in mail_to(mailbox, CUSTOMER_EMAIL)] == ["Booking received"]
    assert [subject_of(m)[:11] for m in mail_to(mailbox, PROVIDER_EMAIL)] == ["New booking"]


async def test_an_expired_hold_tells_the_provider_nothing_and_the_customer_it_was_not_completed(
    provider: Any, live_app: LiveApp, mailbox: Mailbox, db_pool: Any, db: asyncpg.Connection
) -> None:
    _, service = provider
    booked = await book_one(live_app, service)
    await make_awaiting_payment(db, UUID(booked.id))

    await move_appointment(
        db,
        UUID(booked.id),
        Move.CANCEL,
        actor=Actor("system", reason="hold expired"),
        authorize=lambda _: None,
        now=datetime.now(UTC),
    )
    assert await drop_held(db, UUID(booked.id)) == 0  # the cancel already dropped them
    await deliver(db_pool, live_app)

    [not_completed] = mailbox.messages
    assert not_completed["To"] == CUSTOMER_EMAIL
    assert subject_of(not_completed).startswith("Your booking was not completed")
    assert await outbox_kinds(db) == [("booking_not_completed", CUSTOMER_EMAIL)]
