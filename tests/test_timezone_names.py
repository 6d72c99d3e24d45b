"""Zone names are checked against the zone database read once per process, not on every
booking (a scan of the database on disk takes milliseconds on the event loop)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.domain import zones
from server.domain.bookings import clean_customer_details
from server.domain.providers import check_timezone
from server.domain.rules import RuleBroken


@pytest.fixture
def zone_database_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts reads of the zone database, from a cold cache."""
    reads: list[int] = []
    read = zones.available_timezones

    def counted() -> set[str]:
        reads.append(1)
        return read()

    monkeypatch.setattr(zones, "available_timezones", counted)
    zones.known_timezones.cache_clear()
    yield reads
    zones.known_timezones.cache_clear()


def test_many_bookings_and_providers_read_the_zone_database_once(
    zone_database_reads: list[int],
) -> None:
    for zone in ("Europe/Paris", "America/New_York", "Asia/Tokyo"):
        details = clean_customer_details(
            name="Grace Hopper", email="grace@example.com", phone=None, notes=None, timezone=zone
        )
        assert details.timezone == zone
        assert check_timezone(zone) == zone
    assert len(zone_database_reads) == 1


def test_unknown_or_misspelt_zones_are_still_refused(zone_database_reads: list[int]) -> None:
    for name in ("Mars/Olympus_Mons", "europe/london", "../etc/passwd"):
        with pytest.raises(RuleBroken):
            check_timezone(name)
        assert not zones.is_timezone(name)
