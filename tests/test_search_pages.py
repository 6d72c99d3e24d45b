"""Which ranked candidates each page of a search shows (server.domain.search_pages): no database."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from server.domain.search_pages import (
    CANDIDATE_BLOCK,
    RankedCandidate,
    first_short_block,
    page_ids,
    positions,
    sample_blocks,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def candidate(number: int, rank: float, block: int) -> RankedCandidate:
    return RankedCandidate(UUID(int=number), rank, NOW, block)


def test_a_better_candidate_found_in_a_later_block_never_moves_an_earlier_pages_service() -> None:
    first_block = [candidate(n, 1.0, 0) for n in range(CANDIDATE_BLOCK)]
    found_later = candidate(10_000, 9.0, 1)
    shown = positions([*first_block, found_later], blocks=2)
    assert shown[:CANDIDATE_BLOCK] == positions(first_block, blocks=1)
    assert shown[CANDIDATE_BLOCK] == found_later


def test_a_first_blocks_leftovers_compete_with_the_next_blocks_candidates() -> None:
    first_block = [candidate(n, float(n), 0) for n in range(CANDIDATE_BLOCK + 5)]
    second_block = [candidate(1_000 + n, 100.0 + n, 1) for n in range(3)]
    shown = positions([*first_block, *second_block], blocks=2)
    assert len(shown) == len(first_block) + len(second_block)
    assert [c.id.int for c in shown[:3]] == [CANDIDATE_BLOCK + 4, CANDIDATE_BLOCK + 3, 62]
    assert [c.id.int for c in shown[CANDIDATE_BLOCK : CANDIDATE_BLOCK + 4]] == [1002, 1001, 1000, 4]


def test_ties_go_to_the_newer_service_then_by_id() -> None:
    older = RankedCandidate(UUID(int=1), 1.0, NOW.replace(hour=11), 0)
    newer_high_id = RankedCandidate(UUID(int=3), 1.0, NOW, 0)
    newer_low_id = RankedCandidate(UUID(int=2), 1.0, NOW, 0)
    shown = positions([older, newer_high_id, newer_low_id], blocks=1)
    assert shown == [newer_low_id, newer_high_id, older]


def test_every_page_size_cuts_the_same_list() -> None:
    found = [candidate(n, float(n % 7), n % 3) for n in range(3 * CANDIDATE_BLOCK)]
    shown = positions(found, blocks=3)
    for size in (1, 7, 12, 20, 100):
        paged = [
            id for offset in range(0, len(shown), size) for id in page_ids(shown, offset, size)
        ]
        assert paged == [c.id for c in shown]


def test_the_first_block_short_of_candidates_is_where_the_sample_joins() -> None:
    enough = [0] * CANDIDATE_BLOCK + [1] * CANDIDATE_BLOCK
    assert first_short_block(enough, 2) is None
    assert first_short_block([0] * 10, 2) == 0
    assert first_short_block([*enough[:CANDIDATE_BLOCK], 1], 2) == 1
    assert sample_blocks(3 * CANDIDATE_BLOCK, 1, 2) == [1] * (2 * CANDIDATE_BLOCK)
    assert sample_blocks(5, 0, 3) == [0] * 5
