"""The demo's waitlist: a fully booked day of one service with three people waiting for it, so
the dashboard's waitlist card and a cancellation's offer have something to show."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.bookings import hash_manage_key
from server.models.services import Service
from server.usecases.demo_bookings import CUSTOMERS

# The full day: this many days after the provider's today.
FULL_DAY_AHEAD = 3
WAITING = (
    ("Nadia Haddad", "nadia.haddad@example.com"),
    ("Tom Okafor", "tom.okafor@example.com"),
    ("Charlie Customer", None),  # the demo customer's own place in line
)


async def seed_full_day_with_waitlist(
    conn: asyncpg.Connection, service: Service, customer_user_id: UUID, now: datetime
) -> int:
    """Book every free slot of one day and put three people in its line, once; returns how
    many bookings it made (none the second time)."""
    async with conn.transaction():
        already = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM waitlist_entries WHERE service_id = $1)", service.id
        )
        if already:
            return 0
        earliest = now.astimezone(ZoneInfo(service.provider.timezone)).date() + timedelta(
            days=FULL_DAY_AHEAD
        )
        # The first open day from then on (a weekend or a bank holiday may be closed).
        day: date | None = await conn.fetchval(
            """
            SELECT min(slot_date)
              FROM appointments
             WHERE service_id = $1
               AND slot_date >= $2
               AND NOT booked
               AND occupies_slot
            """,
            service.id,
            earliest,
        )
        if day is None:
            return 0
        booked = await _book_whole_day(conn, service, day, now)
        customer_email = await conn.fetchval(
            "SELECT email FROM users WHERE id = $1", customer_user_id
        )
        for name, email in WAITING:
            await conn.execute(
                """
                INSERT INTO waitlist_entries (service_id, waitlist_date, customer_user_id,
                                              customer_name, customer_email, manage_key_hash)
                VALUES ($1, $2, $3, $4, $5, $6)
                """,
                service.id,
                day,
                customer_user_id if email is None else None,
                name,
                email or customer_email,
                hash_manage_key(secrets.token_urlsafe(24)),  # nobody holds the key: demo only
            )
        return booked


async def _book_whole_day(
    conn: asyncpg.Connection, service: Service, day: date, now: datetime
) -> int:
    rows = await conn.fetch(
        """
        UPDATE appointments
           SET booked = true,
               status = 'CONFIRMED',
               payment_status = 'pay_at_visit',
               customer_name = $3,
               customer_email = $4,
               manage_key_hash = 'demo',
               price_cents = $5,
               currency = $6,
               booked_at = $7,
               updated_at = $7
         WHERE service_id = $1
           AND slot_date = $2
           AND NOT booked
           AND occupies_slot
        RETURNING id
        """,
        service.id,
        day,
        CUSTOMERS[0][0],
        CUSTOMERS[0][1],
        service.price_cents,
        service.currency,
        now,
    )
    for row in rows:
        await conn.execute(
            """
            INSERT INTO appointment_events (appointment_id, from_status, to_status, actor)
            VALUES ($1, NULL, 'PENDING', 'customer'),
                   ($1, 'PENDING', 'CONFIRMED', 'provider')
            """,
            row["id"],
        )
    return len(rows)
