"""Rules of the waitlist, with no I/O: who is offered which freed slot, and when joining is
allowed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar


class WaitlistStatus(StrEnum):
    WAITING = "waiting"  # in line
    OFFERED = "offered"  # a freed slot is held for them until the offer expires
    BOOKED = "booked"  # they claimed an offer: it is their booking now
    EXPIRED = "expired"  # an offer ran out unclaimed; they left the line with it
    LEFT = "left"  # they left the line (an open offer passed on)


# Still in line: one such entry per e-mail per service and day (sql/0016).
ACTIVE = frozenset({WaitlistStatus.WAITING, WaitlistStatus.OFFERED})

Slot = TypeVar("Slot")
Entry = TypeVar("Entry")


def pair_offers(slots: Sequence[Slot], entries: Sequence[Entry]) -> list[tuple[Slot, Entry]]:
    """First come, first served: the earliest freed slot goes to the first entry in line, the
    next to the second, and so on; slots nobody waits for stay free for everyone."""
    return list(zip(slots, entries, strict=False))


def offer_expiry(now: datetime, offer_minutes: int) -> datetime:
    return now + timedelta(minutes=offer_minutes)


def may_join_on(day: date, today: date, last_day: date) -> bool:
    """A waitlist is for a day slots are offered for: today up to the service's horizon."""
    return today <= day <= last_day
