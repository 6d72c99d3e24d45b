"""Which ranked search candidates a page shows, so that paging neither repeats nor skips one.

A broad search ranks only candidates: each searched field's nearest services, found in blocks
(server.models.service_search_sql). A deeper page needs more blocks, and ranking the larger set
could move a service found late ahead of one an earlier page already showed. So positions are
handed out block by block: block 0's candidates fill the first CANDIDATE_BLOCK positions (best
first), then block 0's leftovers and block 1's candidates, best first, fill the next
CANDIDATE_BLOCK, and so on. A block's candidates are the same whichever page asked for them
(each field's first k are a prefix of its first 2k), so every page is cut from the same list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

# Positions each block of candidates fills (and each field's candidates per block).
CANDIDATE_BLOCK = 60


@dataclass(frozen=True)
class RankedCandidate:
    id: UUID
    rank: float
    created_at: datetime
    # The first block that found it.
    block: int


def best_first(candidate: RankedCandidate) -> tuple[float, float, int]:
    """Higher rank first, then newer, then by id (the order of the SQL ranking everywhere)."""
    return -candidate.rank, -candidate.created_at.timestamp(), candidate.id.int


def blocks_through(end: int) -> int:
    """How many blocks of positions hold positions [0, end)."""
    return max(1, (end + CANDIDATE_BLOCK - 1) // CANDIDATE_BLOCK)


def positions(candidates: Iterable[RankedCandidate], blocks: int) -> list[RankedCandidate]:
    """The candidates in the order the pages show them, through `blocks` blocks: each block's
    positions go to the best candidates found by then and not yet shown."""
    ordered = sorted(candidates, key=best_first)
    shown: list[RankedCandidate] = []
    taken: set[UUID] = set()
    for block in range(blocks):
        fresh = [c for c in ordered if c.block <= block and c.id not in taken]
        for candidate in fresh[:CANDIDATE_BLOCK]:
            shown.append(candidate)
            taken.add(candidate.id)
    return shown


def first_short_block(found_in: Iterable[int], blocks: int) -> int | None:
    """The first of `blocks` blocks by which the fields' nearest candidates (first found in the
    blocks `found_in`) number fewer than the positions to fill: a filter rejected most of what
    the fields read. None when every block had enough."""
    found = sorted(found_in)
    for block in range(blocks):
        if sum(1 for first in found if first <= block) < (block + 1) * CANDIDATE_BLOCK:
            return block
    return None


def sample_blocks(size: int, from_block: int, blocks: int) -> list[int]:
    """The blocks in which a sample of `size` candidates (best first) joins, from `from_block` on:
    CANDIDATE_BLOCK more per block, through `blocks` blocks."""
    joins = [max(n // CANDIDATE_BLOCK, from_block) for n in range(size)]
    return [block for block in joins if block < blocks]


def page_ids(shown: Sequence[RankedCandidate], offset: int, limit: int) -> list[UUID]:
    return [candidate.id for candidate in shown[offset : offset + limit]]
