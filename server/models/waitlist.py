"""The waitlist tables (sql/0016): entries in line for a service's day, and the offers that
hold a freed slot for one of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.domain.bookings import CustomerDetails
from server.domain.waitlist import WaitlistStatus
from server.models.busy_times import busy
from server.models.slots import Slot, offered

# An entry with its place in line (among the day's `waiting` entries), its open offer and the
# service it waits for.
_ENTRY_QUERY = """
    SELECT e.id, e.service_id, e.waitlist_date, e.status, e.created_at, e.customer_user_id,
           e.customer_name, e.customer_email, e.customer_phone, e.customer_timezone,
           e.manage_key_hash, e.offer_key_hash, e.booked_appointment_id,
           CASE WHEN e.status = 'waiting' THEN (
               SELECT count(*)
                 FROM waitlist_entries AS ahead
                WHERE ahead.service_id = e.service_id
                  AND ahead.waitlist_date = e.waitlist_date
                  AND ahead.status = 'waiting'
                  AND ahead.line_number <= e.line_number
           ) END AS position,
           o.expires_at AS offer_expires_at,
           a.id AS offer_slot_id, a.starts_at AS offer_starts_at, a.ends_at AS offer_ends_at,
           a.token AS offer_token,
           s.name AS service_name, s.provider_id, p.business_name, p.timezone
      FROM waitlist_entries AS e
      JOIN services AS s ON s.id = e.service_id
      JOIN providers AS p ON p.id = s.provider_id
      LEFT JOIN waitlist_offers AS o ON o.entry_id = e.id
      LEFT JOIN appointments AS a ON a.id = o.slot_id
"""


@dataclass(frozen=True)
class Offer:
    slot: Slot
    expires_at: datetime


@dataclass(frozen=True)
class WaitlistEntry:
    id: UUID
    service_id: UUID
    day: date
    status: WaitlistStatus
    created_at: datetime
    customer_user_id: UUID | None
    customer_name: str
    customer_email: str
    customer_phone: str | None
    customer_timezone: str | None
    manage_key_hash: str
    offer_key_hash: str | None
    booked_appointment_id: UUID | None
    position: int | None
    offer: Offer | None
    service_name: str
    provider_id: UUID
    business_name: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_json(self) -> dict[str, Any]:
        """The contract's WaitlistEntry, plus what the waitlist page shows."""
        offer = None
        if self.offer is not None:
            offer = {
                "slot": self.offer.slot.to_json(self.zone),
                "expires_at": self.offer.expires_at.isoformat(),
            }
        return {
            "id": str(self.id),
            "service_id": str(self.service_id),
            "date": self.day.isoformat(),
            "position": self.position,
            "status": self.status.value,
            "offer": offer,
            "created_at": self.created_at.isoformat(),
            "service_name": self.service_name,
            "business_name": self.business_name,
            "timezone": self.timezone,
            "customer_timezone": self.customer_timezone,
            "booking_id": None
            if self.booked_appointment_id is None
            else str(self.booked_appointment_id),
        }

    def to_provider_json(self) -> dict[str, Any]:
        """What the provider's dashboard lists: the entry and who it is."""
        return self.to_json() | {
            "customer_name": self.customer_name,
            "customer_email": self.customer_email,
            "customer_phone": self.customer_phone,
        }


def _entry_from_row(row: asyncpg.Record) -> WaitlistEntry:
    offer = None
    if row["offer_slot_id"] is not None:
        offer = Offer(
            slot=Slot(
                id=row["offer_slot_id"],
                service_id=row["service_id"],
                slot_date=row["waitlist_date"],
                starts_at=row["offer_starts_at"],
                ends_at=row["offer_ends_at"],
                token=row["offer_token"],
                booked=False,
                held=True,
            ),
            expires_at=row["offer_expires_at"],
        )
    return WaitlistEntry(
        id=row["id"],
        service_id=row["service_id"],
        day=row["waitlist_date"],
        status=WaitlistStatus(row["status"]),
        created_at=row["created_at"],
        customer_user_id=row["customer_user_id"],
        customer_name=row["customer_name"],
        customer_email=row["customer_email"],
        customer_phone=row["customer_phone"],
        customer_timezone=row["customer_timezone"],
        manage_key_hash=row["manage_key_hash"],
        offer_key_hash=row["offer_key_hash"],
        booked_appointment_id=row["booked_appointment_id"],
        position=row["position"],
        offer=offer,
        service_name=row["service_name"],
        provider_id=row["provider_id"],
        business_name=row["business_name"],
        timezone=row["timezone"],
    )


async def insert_entry(
    conn: asyncpg.Connection,
    service_id: UUID,
    day: date,
    customer: CustomerDetails,
    *,
    customer_user_id: UUID | None,
    manage_key_hash: str,
) -> UUID | None:
    """Put a customer in line; None when that e-mail is already in this day's line."""
    entry_id: UUID | None = await conn.fetchval(
        """
        INSERT INTO waitlist_entries (service_id, waitlist_date, customer_user_id, customer_name,
                                      customer_email, customer_phone, customer_timezone,
                                      manage_key_hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (service_id, waitlist_date, customer_email)
               WHERE status IN ('waiting', 'offered')
               DO NOTHING
        RETURNING id
        """,
        service_id,
        day,
        customer_user_id,
        customer.name,
        customer.email,
        customer.phone,
        customer.timezone,
        manage_key_hash,
    )
    return entry_id


async def select_entry(conn: asyncpg.Connection, entry_id: UUID) -> WaitlistEntry | None:
    row = await conn.fetchrow(f"{_ENTRY_QUERY} WHERE e.id = $1", entry_id)
    return None if row is None else _entry_from_row(row)


async def lock_entry(conn: asyncpg.Connection, entry_id: UUID) -> WaitlistEntry | None:
    """The entry, its row locked for the rest of the transaction (claims and leaves of one
    entry wait for each other; the expiry sweep passes over it)."""
    found = await conn.fetchval(
        "SELECT id FROM waitlist_entries WHERE id = $1 FOR UPDATE", entry_id
    )
    return None if found is None else await select_entry(conn, entry_id)


async def select_day_entries(
    conn: asyncpg.Connection, provider_id: UUID, day: date
) -> list[WaitlistEntry]:
    """Everyone still in line for `day` across the provider's services, in line order."""
    rows = await conn.fetch(
        f"""
        {_ENTRY_QUERY}
         WHERE s.provider_id = $1
           AND e.waitlist_date = $2
           AND e.status IN ('waiting', 'offered')
         ORDER BY s.name, e.line_number
        """,
        provider_id,
        day,
    )
    return [_entry_from_row(row) for row in rows]


async def count_waiting_by_day(
    conn: asyncpg.Connection, provider_id: UUID, first_day: date, last_day: date
) -> dict[date, int]:
    """How many people are in line (waiting or holding an offer) on each day in the range."""
    rows = await conn.fetch(
        """
        SELECT e.waitlist_date, count(*) AS waiting
          FROM waitlist_entries AS e
          JOIN services AS s ON s.id = e.service_id
         WHERE s.provider_id = $1
           AND e.waitlist_date BETWEEN $2 AND $3
           AND e.status IN ('waiting', 'offered')
         GROUP BY e.waitlist_date
        """,
        provider_id,
        first_day,
        last_day,
    )
    return {row["waitlist_date"]: row["waiting"] for row in rows}


@dataclass(frozen=True)
class InLine:
    """A waiting entry about to be offered a slot: what the offer's messages need."""

    id: UUID
    day: date
    customer_name: str
    customer_email: str
    customer_phone: str | None
    customer_timezone: str | None


async def lock_first_waiting(
    conn: asyncpg.Connection, service_id: UUID, days: list[date], *, limit: int | None = None
) -> dict[date, list[InLine]]:
    """The entries waiting for these days of the service (at most `limit`), locked in line
    order (each day's first entry first)."""
    rows = await conn.fetch(
        """
        SELECT id, waitlist_date AS day, customer_name, customer_email, customer_phone,
               customer_timezone
          FROM waitlist_entries
         WHERE service_id = $1
           AND waitlist_date = ANY($2::date[])
           AND status = 'waiting'
         ORDER BY line_number
         LIMIT $3
           FOR UPDATE
        """,
        service_id,
        days,
        limit,
    )
    by_day: dict[date, list[InLine]] = {}
    for row in rows:
        by_day.setdefault(row["day"], []).append(InLine(**dict(row)))
    return by_day


async def has_waiting(conn: asyncpg.Connection, service_id: UUID, days: list[date]) -> bool:
    """Whether anyone waits for one of these days (a cheap probe before locking anything)."""
    found: bool = await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1
                         FROM waitlist_entries
                        WHERE service_id = $1
                          AND waitlist_date = ANY($2::date[])
                          AND status = 'waiting')
        """,
        service_id,
        days,
    )
    return found


async def hold_slot_for(
    conn: asyncpg.Connection,
    slot_id: UUID,
    entry_id: UUID,
    *,
    expires_at: datetime,
    offer_key_hash: str,
    now: datetime,
) -> None:
    """Offer the free slot to the entry until `expires_at` (a slot held for someone else
    already is a unique violation: the database refuses a second offer)."""
    await conn.execute(
        """
        INSERT INTO waitlist_offers (slot_id, entry_id, offered_at, expires_at)
        VALUES ($1, $2, $3, $4)
        """,
        slot_id,
        entry_id,
        now,
        expires_at,
    )
    await set_status(conn, entry_id, WaitlistStatus.OFFERED, offer_key_hash=offer_key_hash)


async def pass_offer(
    conn: asyncpg.Connection,
    slot_id: UUID,
    entry_id: UUID,
    *,
    expires_at: datetime,
    offer_key_hash: str,
    now: datetime,
) -> None:
    """The slot's offer goes to another entry, with a fresh `expires_at`."""
    await conn.execute(
        """
        UPDATE waitlist_offers
           SET entry_id = $2,
               offered_at = $3,
               expires_at = $4
         WHERE slot_id = $1
        """,
        slot_id,
        entry_id,
        now,
        expires_at,
    )
    await set_status(conn, entry_id, WaitlistStatus.OFFERED, offer_key_hash=offer_key_hash)


async def delete_offer(conn: asyncpg.Connection, slot_id: UUID) -> None:
    """The slot is no longer held for anyone (call after the entry's status moved on)."""
    await conn.execute("DELETE FROM waitlist_offers WHERE slot_id = $1", slot_id)


async def set_status(
    conn: asyncpg.Connection,
    entry_id: UUID,
    status: WaitlistStatus,
    *,
    offer_key_hash: str | None = None,
    booked_appointment_id: UUID | None = None,
) -> None:
    await conn.execute(
        """
        UPDATE waitlist_entries
           SET status = $2,
               offer_key_hash = coalesce($3, offer_key_hash),
               booked_appointment_id = coalesce($4, booked_appointment_id),
               updated_at = clock_timestamp()
         WHERE id = $1
        """,
        entry_id,
        status.value,
        offer_key_hash,
        booked_appointment_id,
    )


@dataclass(frozen=True)
class DueOffer:
    entry_id: UUID
    slot_id: UUID
    service_id: UUID


async def lock_due_offer(conn: asyncpg.Connection, now: datetime) -> DueOffer | None:
    """The oldest offer that ran out by `now`, with its entry, both locked; offers another
    transaction holds (a claim, a leave, another worker) are passed over, never waited for."""
    row = await conn.fetchrow(
        """
        SELECT o.entry_id, o.slot_id, e.service_id
          FROM waitlist_offers AS o
          JOIN waitlist_entries AS e ON e.id = o.entry_id
         WHERE o.expires_at <= $1
         ORDER BY o.expires_at
         LIMIT 1
           FOR UPDATE OF o, e SKIP LOCKED
        """,
        now,
    )
    return None if row is None else DueOffer(**dict(row))


async def lock_offer_of(conn: asyncpg.Connection, entry_id: UUID) -> UUID | None:
    """The slot held for the (locked) entry, its offer row locked; None without an offer."""
    slot_id: UUID | None = await conn.fetchval(
        "SELECT slot_id FROM waitlist_offers WHERE entry_id = $1 FOR UPDATE", entry_id
    )
    return slot_id


async def slot_is_bookable(conn: asyncpg.Connection, slot_id: UUID, now: datetime) -> bool:
    """The free slot still lies past its service's minimum notice (an offer of it is worth
    passing on)."""
    found: bool | None = await conn.fetchval(
        """
        SELECT NOT a.booked
               AND a.occupies_slot
               AND s.is_active
               AND a.starts_at > $2::timestamptz + make_interval(mins => s.min_notice_minutes)
          FROM appointments AS a
          JOIN services AS s ON s.id = a.service_id
         WHERE a.id = $1
        """,
        slot_id,
        now,
    )
    return bool(found)


async def select_slot(conn: asyncpg.Connection, slot_id: UUID) -> Slot | None:
    """A free slot as its watchers now see it (held or not)."""
    row = await conn.fetchrow(
        """
        SELECT a.id, a.service_id, a.slot_date, a.starts_at, a.ends_at, a.token, a.booked,
               EXISTS (SELECT 1 FROM waitlist_offers AS o WHERE o.slot_id = a.id) AS held
          FROM appointments AS a
         WHERE a.id = $1
        """,
        slot_id,
    )
    return None if row is None else Slot(**dict(row))


async def has_bookable_slot(
    conn: asyncpg.Connection, service_id: UUID, day: date, now: datetime, notice_minutes: int
) -> bool:
    """Whether the day still has a free slot anyone could book (past the notice, not held,
    not under one of the provider's busy times)."""
    found: bool = await conn.fetchval(
        f"""
        SELECT EXISTS (SELECT 1
                         FROM appointments AS a
                        WHERE a.service_id = $1
                          AND a.slot_date = $2
                          AND NOT a.booked
                          AND a.occupies_slot
                          AND a.starts_at > $3::timestamptz + make_interval(mins => $4)
                          AND NOT {offered("a")}
                          AND NOT {busy("a")})
        """,
        service_id,
        day,
        now,
        notice_minutes,
    )
    return found
