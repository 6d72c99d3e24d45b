"""The one-statement booking (server.models.booking_records.claim_and_record) books a slot
only while it is bookable and still as it was read: what the e-mails and the answer were made
of. Otherwise it writes nothing at all, and POST /api/bookings books the careful way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from server.domain.bookings import CustomerDetails
from server.models.booking_records import claim_and_record
from server.models.slot_claims import (
    BookableSlot,
    FreeSlotClaim,
    booking_of,
    select_bookable_slot,
)
from server.models.slots import insert_slots
from tests.test_slot_copy import a_service, generated

CUSTOMER = CustomerDetails("Grace", "grace@example.com", None, None, None)


async def a_free_slot(db: asyncpg.Connection) -> BookableSlot:
    _, service_id = await a_service(db)
    async with db.transaction():
        (slot,) = await insert_slots(db, service_id, generated(1))
    found = await select_bookable_slot(db, slot.id, stripe_enabled=False, now=datetime.now(UTC))
    assert found is not None
    return found


async def claim(db: asyncpg.Connection, slot: BookableSlot) -> bool:
    now = datetime.now(UTC)
    appointment = booking_of(
        slot,
        FreeSlotClaim(CUSTOMER, None, "hash", False, now + timedelta(minutes=15)),
        booked_at=now,
    )
    return await claim_and_record(
        db, slot, appointment, appointment.to_json(), stripe_enabled=False, now=now, emails=[]
    )


async def history_lines(db: asyncpg.Connection, slot: BookableSlot) -> int:
    found: int = await db.fetchval(
        "SELECT count(*) FROM appointment_events WHERE appointment_id = $1", slot.id
    )
    return found


async def test_a_free_slot_is_booked_with_its_history_in_one_statement(
    db: asyncpg.Connection,
) -> None:
    slot = await a_free_slot(db)
    assert await claim(db, slot)
    row = await db.fetchrow(
        "SELECT booked, status, customer_name FROM appointments WHERE id = $1", slot.id
    )
    assert (row["booked"], row["status"], row["customer_name"]) == (True, "PENDING", "Grace")
    assert await history_lines(db, slot) == 1
    # A second claim of the same slot finds it booked and writes nothing.
    assert not await claim(db, slot)
    assert await history_lines(db, slot) == 1


async def test_a_slot_whose_service_changed_since_it_was_read_is_left_alone(
    db: asyncpg.Connection,
) -> None:
    slot = await a_free_slot(db)
    await db.execute("UPDATE services SET name = 'Renamed' WHERE id = $1", slot.service_id)
    assert not await claim(db, slot)
    assert not await db.fetchval("SELECT booked FROM appointments WHERE id = $1", slot.id)
    assert await history_lines(db, slot) == 0
