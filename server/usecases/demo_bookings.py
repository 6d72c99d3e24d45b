"""Believable bookings for the demo: six weeks of history and two weeks ahead, in every state.

Written straight to the tables (not through `book()`), because the past cannot be booked and
the demo must not send anyone e-mail. The history table gets the moves each booking went
through, so analytics count cancellations by who made them, as they do for real bookings.
A fixed random seed per service makes the demo the same on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.hours import parse_stored_hours
from server.domain.slots import GeneratedSlot, generate_slots_for_day
from server.models.services import Service

PAST_DAYS = 42
FUTURE_DAYS = 14
CUSTOMERS = (
    ("Olivia Bennett", "olivia.bennett@example.com"),
    ("Liam Carter", "liam.carter@example.com"),
    ("Sofia Rossi", "sofia.rossi@example.com"),
    ("Noah Kim", "noah.kim@example.com"),
    ("Ava Johnson", "ava.johnson@example.com"),
    ("Lucas Martin", "lucas.martin@example.com"),
    ("Mia Schneider", "mia.schneider@example.com"),
    ("Ethan Nguyen", "ethan.nguyen@example.com"),
    ("Isla Murphy", "isla.murphy@example.com"),
    ("Hugo Dubois", "hugo.dubois@example.com"),
    ("Yuki Tanaka", "yuki.tanaka@example.com"),
    ("Chloe Evans", "chloe.evans@example.com"),
)
# How the past turned out, and the moves that got each booking there (actor, from, to).
PAST_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("COMPLETED", 0.72),
    ("NO_SHOW", 0.07),
    ("CANCELLED", 0.14),
    ("REJECTED", 0.07),
)
FUTURE_OUTCOMES: tuple[tuple[str, float], ...] = (("CONFIRMED", 0.7), ("PENDING", 0.3))
MOVES = {
    "PENDING": (),
    "CONFIRMED": (("provider", "PENDING", "CONFIRMED"),),
    "COMPLETED": (("provider", "PENDING", "CONFIRMED"), ("provider", "CONFIRMED", "COMPLETED")),
    "NO_SHOW": (("provider", "PENDING", "CONFIRMED"), ("provider", "CONFIRMED", "NO_SHOW")),
    "REJECTED": (("provider", "PENDING", "REJECTED"),),
}


@dataclass(frozen=True)
class DemoBooking:
    slot: GeneratedSlot
    status: str
    payment_status: str
    customer: tuple[str, str]
    customer_user_id: UUID | None
    moves: tuple[tuple[str, str, str], ...]


def _choose(rng: random.Random, outcomes: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([name for name, _ in outcomes], [weight for _, weight in outcomes])[0]


def _past_booking(
    rng: random.Random, slot: GeneratedSlot, service: Service, customer_user_id: UUID | None
) -> DemoBooking:
    status = _choose(rng, PAST_OUTCOMES)
    paid = service.price_cents > 0 and rng.random() < 0.5
    moves = MOVES.get(status)
    if status == "CANCELLED":
        actor = rng.choice(("customer", "customer", "provider"))
        moves = (
            (("customer", "PENDING", "CANCELLED"),)
            if actor == "customer"
            else (
                ("provider", "PENDING", "CONFIRMED"),
                ("provider", "CONFIRMED", "CANCELLED"),
            )
        )
    payment = "paid" if paid else "pay_at_visit"
    if paid and status in ("CANCELLED", "REJECTED"):
        payment = "refunded"
    return DemoBooking(
        slot=slot,
        status=status,
        payment_status=payment,
        customer=rng.choice(CUSTOMERS),
        customer_user_id=customer_user_id if rng.random() < 0.1 else None,
        moves=moves or (),
    )


def plan_past_bookings(
    service: Service, today: date, customer_user_id: UUID | None, rng: random.Random
) -> list[DemoBooking]:
    """About half of every past day's slots, booked and played out."""
    hours = parse_stored_hours(service.hours)
    zone = ZoneInfo(service.provider.timezone)
    planned = []
    for offset in range(PAST_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        slots = generate_slots_for_day(
            hours,
            service.duration_minutes,
            service.max_appointments_per_day,
            zone,
            day,
            now=datetime.combine(day - timedelta(days=2), datetime.min.time(), zone),
            buffer_minutes=service.buffer_minutes,
        )
        planned += [
            _past_booking(rng, slot, service, customer_user_id)
            for slot in slots
            if rng.random() < 0.55
        ]
    return planned


async def seed_service_bookings(
    conn: asyncpg.Connection, service: Service, customer_user_id: UUID | None, now: datetime
) -> int:
    """Book the demo history and near future of one service, once; the number of bookings."""
    async with conn.transaction():
        already = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM appointments WHERE service_id = $1 AND booked)",
            service.id,
        )
        if already:
            return 0
        rng = random.Random(str(service.id))  # noqa: S311 - demo data, not security
        today = now.astimezone(ZoneInfo(service.provider.timezone)).date()
        past = plan_past_bookings(service, today, customer_user_id, rng)
        for booking in past:
            await _insert_past_booking(conn, service, booking)
        return len(past) + await _book_future_slots(conn, service, customer_user_id, now, rng)


async def _insert_past_booking(
    conn: asyncpg.Connection, service: Service, booking: DemoBooking
) -> None:
    slot = booking.slot
    appointment_id = await conn.fetchval(
        """
        INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token, booked,
                                  status, payment_status, customer_user_id, customer_name,
                                  customer_email, manage_key_hash, price_cents, currency,
                                  booked_at, paid_at)
        VALUES ($1, $2, $3, $4, $5, true, $6, $7, $8, $9, $10, 'demo', $11, $12,
                $3::timestamptz - interval '5 days',
                CASE WHEN $7 IN ('paid', 'refunded') THEN $3::timestamptz - interval '5 days' END)
        RETURNING id
        """,
        service.id,
        slot.slot_date,
        slot.starts_at,
        slot.ends_at,
        slot.token,
        booking.status,
        booking.payment_status,
        booking.customer_user_id,
        booking.customer[0],
        booking.customer[1],
        service.price_cents,
        service.currency,
    )
    await _insert_history(conn, appointment_id, booking.moves, slot.starts_at)


async def _insert_history(
    conn: asyncpg.Connection,
    appointment_id: UUID,
    moves: tuple[tuple[str, str, str], ...],
    starts_at: datetime,
) -> None:
    steps = [("customer", None, "PENDING"), *moves]
    await conn.executemany(
        """
        INSERT INTO appointment_events (appointment_id, from_status, to_status, actor, created_at)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [
            (appointment_id, before, after, actor, starts_at - timedelta(days=5 - n))
            for n, (actor, before, after) in enumerate(steps)
        ],
    )


async def _book_future_slots(
    conn: asyncpg.Connection,
    service: Service,
    customer_user_id: UUID | None,
    now: datetime,
    rng: random.Random,
) -> int:
    """Fill about a third of the next two weeks' free slots, so the calendar looks lived in."""
    free = await conn.fetch(
        """
        SELECT id, starts_at
          FROM appointments
         WHERE service_id = $1
           AND NOT booked
           AND occupies_slot
           AND starts_at > $2
           AND starts_at < $2 + make_interval(days => $3)
         ORDER BY starts_at
        """,
        service.id,
        now,
        FUTURE_DAYS,
    )
    booked = 0
    for row in free:
        if rng.random() >= 0.35:
            continue
        status = _choose(rng, FUTURE_OUTCOMES)
        name, email = rng.choice(CUSTOMERS)
        linked = customer_user_id if rng.random() < 0.15 else None
        await conn.execute(
            """
            UPDATE appointments
               SET booked = true,
                   status = $2,
                   payment_status = 'pay_at_visit',
                   customer_user_id = $3,
                   customer_name = $4,
                   customer_email = $5,
                   manage_key_hash = 'demo',
                   price_cents = $6,
                   currency = $7,
                   booked_at = $8,
                   updated_at = $8
             WHERE id = $1
            """,
            row["id"],
            status,
            linked,
            name,
            email,
            service.price_cents,
            service.currency,
            now - timedelta(hours=rng.randint(1, 72)),
        )
        await _insert_history(conn, row["id"], MOVES[status], now)
        booked += 1
    return booked
