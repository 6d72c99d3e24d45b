"""Searching active services: the best few candidates by nearest-neighbour trigram search,
ranked; an honest total that stops counting at a cap.

The search text's typos are first corrected against the catalogue's own words
(server.models.search_words). The matches are counted first, exactly up to TOTAL_CAP (sql/0007's GIN
indexes, their bitmaps ANDed with the filters' own: sql/0025) and "at least TOTAL_CAP" beyond, and
the count hands back their ids. When they are few every one is ranked (exact, and cheap). Otherwise
each searched field (the service's name, description and category, and its provider's business name)
gives its nearest candidates in index order (`ORDER BY q <<-> field LIMIT k` on sql/0021's GiST
indexes), reading a bounded number of services each; with a filter set, the count's ids with the
nearest names join them (a filter can reject a field's whole nearest stretch; they are ordered by
name only then). Only these candidates are ranked, so a query matching a tenth of the catalogue
costs what a narrow one costs; pages are cut from them block by block (server.domain.search_pages),
so paging neither repeats nor skips. Listing without search text walks the newest-first index. The
SQL is in server.models.service_search_sql.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from server.domain.search_pages import (
    CANDIDATE_BLOCK,
    RankedCandidate,
    best_first,
    blocks_through,
    first_short_block,
    page_ids,
    positions,
    sample_blocks,
)
from server.models.search_words import correct_words, split_words
from server.models.service_search_sql import (
    ANY_DAY,
    NEAREST_NAMES_FIRST,
    ON_A_DAY,
    PAGE_OF_SERVICES,
    READS_PER_CANDIDATE,
    SearchSQL,
)
from server.models.services import Service, service_from_row

# word_similarity() at or above this counts as a match: "massge" finds "massage" (0.71),
# while unrelated words of similar length stay well below it. The `<%` operator the indexes
# answer reads it from pg_trgm.word_similarity_threshold, set for the search's transaction.
WORD_SIMILARITY_THRESHOLD = 0.5
# Matches are counted exactly up to this many; beyond it the total says "at least this many".
TOTAL_CAP = 1_000
# A page whose blocks of candidates ran short (a filter rejected most of them) reads up to this
# many blocks more to fill it.
EXTRA_BLOCKS = 3
# Up to this many matches are all ranked, exactly (cheap); beyond it only each field's nearest
# candidates are.
RANK_EVERY_MATCH_UP_TO = 200
# Shorter text is not looked for inside words (an index cannot find "ab" inside a word).
MIN_SUBSTRING_LENGTH = 3


@dataclass(frozen=True)
class SearchFilters:
    """What every result must also be: of a category, near a place, free on a day."""

    category: str | None = None
    near: str | None = None
    available_on: date | None = None
    # The moment a slot must start after (plus its service's minimum notice) to count as free.
    now: datetime | None = None

    def sql(self) -> SearchSQL:
        """The statements for these filters (the day filter changes their shape)."""
        return ON_A_DAY if self.available_on is not None else ANY_DAY

    def any_set(self) -> bool:
        return any(value is not None for value in (self.category, self.near, self.available_on))

    def arguments(self) -> tuple[str | None, str | None, str | None, date | None, datetime | None]:
        near_pattern = None if self.near is None else like_pattern(self.near)
        return self.category, near_pattern, self.near, self.available_on, self.now


@dataclass(frozen=True)
class SearchPage:
    services: list[Service]
    # Exact when total_is_estimate is false; otherwise at least this many match.
    total: int
    total_is_estimate: bool = False


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere, with its own % and _ taken literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def substring_pattern(text: str) -> str | None:
    """The LIKE pattern finding `text` inside a field; None (no substring matching, only
    word-similarity) below three characters, which hold no trigram an index could look up."""
    return like_pattern(text) if len(text) >= MIN_SUBSTRING_LENGTH else None


def prefix_tsquery(text: str) -> str | None:
    """A tsquery ('simple' configuration) for text holding every word of `text`, each word also
    as the start of a longer one; None when `text` has fewer than two words (a single word's
    matches are already among its substring matches, and the planner, which cannot tell a rare
    word from a common one, would look for one by walking the services in date order)."""
    words = split_words(text)
    return " & ".join(f"{word}:*" for word in words) if len(words) > 1 else None


def capped_total(counted: int) -> tuple[int, bool]:
    """(total, is_estimate) from a count that stopped at TOTAL_CAP + 1."""
    if counted > TOTAL_CAP:
        return TOTAL_CAP, True
    return counted, False


async def set_search_settings(conn: asyncpg.Connection) -> None:
    """For the rest of the transaction: the `<%` threshold; a plan made for the actual text and
    filters each time (a generic plan cannot tell a broad query from a narrow one, nor leave out
    the filters that are not set); no sequential scans (the planner cannot estimate how many
    rows a trigram match keeps, and for a capped count it would gamble on a sequential scan
    meeting enough matches early, which costs a word_similarity() per service when they are
    few); random reads priced as what they are for a catalogue held in memory (at the default,
    4, the planner would rather fetch every filtered match and sort them all by distance than
    read the nearest few in index order); no parallel workers and no JIT compilation (starting
    either costs more than these small reads: JIT alone took a second whenever the plan's cost
    estimate ran high)."""
    await conn.execute(
        """
        SELECT set_config('pg_trgm.word_similarity_threshold', $1, true),
               set_config('plan_cache_mode', 'force_custom_plan', true),
               set_config('enable_seqscan', 'off', true),
               set_config('max_parallel_workers_per_gather', '0', true),
               set_config('jit', 'off', true),
               set_config('random_page_cost', '1.1', true)
        """,
        str(WORD_SIMILARITY_THRESHOLD),
    )


async def read_matches_by_bitmaps(conn: asyncpg.Connection) -> None:
    """For what follows in the transaction: find matches through the indexes' bitmaps only.
    Guessing that a trigram match is common, the planner would otherwise walk every service
    newest first testing each (for a capped count: until 1,001 matched, 24,000 services read for
    a word in one service of 24). Each statement is planned for its values (see
    set_search_settings)."""
    await conn.execute(
        "SELECT set_config('enable_indexscan', 'off', true),"
        " set_config('enable_bitmapscan', 'on', true),"
        " set_config('plan_cache_mode', 'force_custom_plan', true)"
    )


async def read_in_index_order(conn: asyncpg.Connection) -> None:
    """For what follows in the transaction: read the nearest candidates in GiST index order.
    The planner cannot estimate how many services a trigram match keeps and, with a filter
    present, would rather fetch every match by bitmap and sort them all by distance. With
    bitmaps off the plan is the same for any text and filters (each field's GiST index read in
    order; a filter not set is a test that passes), so it is made once per connection: planning
    this statement afresh took 2-4 ms, a tenth of a search."""
    await conn.execute(
        "SELECT set_config('enable_indexscan', 'on', true),"
        " set_config('enable_bitmapscan', 'off', true),"
        " set_config('plan_cache_mode', 'force_generic_plan', true)"
    )


async def search_services(
    conn: asyncpg.Connection,
    *,
    query: str | None,
    filters: SearchFilters,
    limit: int,
    offset: int,
) -> SearchPage:
    """Active services matching `query` (best first, typos corrected) and `filters`.

    With no query they are listed newest first.
    """
    if query is None:
        return await _list_services(conn, filters=filters, limit=limit, offset=offset)
    text = await correct_words(conn, query)
    arguments = (text, substring_pattern(text), prefix_tsquery(text), *filters.arguments())
    sql = filters.sql()
    # A text search ranks its best TOTAL_CAP positions at most: deeper pages are empty (the
    # total says "at least TOTAL_CAP" there), and no page makes each field read without end.
    end = min(offset + limit, TOTAL_CAP)
    blocks = blocks_through(end)
    async with conn.transaction():
        await set_search_settings(conn)
        await read_matches_by_bitmaps(conn)
        counted, matched = await conn.fetchrow(
            sql.count,
            *arguments,
            TOTAL_CAP + 1,
            TOTAL_CAP + 1 if filters.any_set() else RANK_EVERY_MATCH_UP_TO,
        )
        if counted == 0 or offset >= end:
            shown = []
        elif counted <= RANK_EVERY_MATCH_UP_TO:
            every = await _rank(conn, sql, arguments, matched, [0] * len(matched), blocks=0)
            shown = sorted(every, key=best_first)
        else:
            sample = matched if filters.any_set() else []
            shown = await _ranked_by_blocks(conn, sql, arguments, sample, blocks, end)
        wanted = page_ids(shown, offset, end - offset)
        rows = await conn.fetch(PAGE_OF_SERVICES, wanted) if wanted else []
    total, is_estimate = capped_total(counted)
    by_id = {row["id"]: service_from_row(row) for row in rows}
    return SearchPage([by_id[id] for id in wanted], total, is_estimate)


async def _ranked_by_blocks(
    conn: asyncpg.Connection,
    sql: SearchSQL,
    arguments: Sequence[object],
    matched: Sequence[UUID],
    blocks: int,
    end: int,
) -> list[RankedCandidate]:
    """The candidates in page order through `end` (or as far as they go), block by block: each
    field's nearest and, from the first block in which too few of those passed the filters, the
    `matched` services (some of what the count found) with the nearest names. A block left short
    is filled from the next ones (up to EXTRA_BLOCKS more)."""
    nearest_names: list[UUID] | None = None
    for more in range(EXTRA_BLOCKS + 1):
        through = blocks + more
        await read_in_index_order(conn)
        ids, found_in = await conn.fetchrow(
            sql.nearest_candidates, *arguments, *_per_field(through)
        )
        await read_matches_by_bitmaps(conn)
        short_from = first_short_block(found_in, through) if matched else None
        if short_from is not None:
            if nearest_names is None:
                nearest_names = await conn.fetchval(NEAREST_NAMES_FIRST, arguments[0], matched)
            joins = sample_blocks(len(nearest_names), short_from, through)
            ids, found_in = [*ids, *nearest_names[: len(joins)]], [*found_in, *joins]
        ranked = await _rank(conn, sql, arguments, ids, found_in, blocks=through)
        shown = positions(ranked, through)
        if len(shown) >= end or all(c.block < through - 1 for c in ranked):
            break
    return shown


def _per_field(blocks: int) -> tuple[int, int]:
    """How many candidates each field keeps through `blocks` blocks, and how many services it
    reads for them at most."""
    kept = blocks * CANDIDATE_BLOCK
    return kept, kept * READS_PER_CANDIDATE


async def _rank(
    conn: asyncpg.Connection,
    sql: SearchSQL,
    arguments: Sequence[object],
    ids: Sequence[UUID],
    found_in: Sequence[int],
    *,
    blocks: int,
) -> list[RankedCandidate]:
    """`ids` (first found in blocks `found_in`) and, through `blocks` blocks, the services whose
    descriptions hold every word, ranked (in no particular order)."""
    rows = await conn.fetch(
        sql.rank_candidates, *arguments, *_per_field(blocks), list(ids), list(found_in)
    )
    return [
        RankedCandidate(row["id"], row["rank"], row["created_at"], row["block"]) for row in rows
    ]


async def _list_services(
    conn: asyncpg.Connection, *, filters: SearchFilters, limit: int, offset: int
) -> SearchPage:
    async with conn.transaction():
        await set_search_settings(conn)
        sql = filters.sql()
        rows = await conn.fetch(sql.listing, *filters.arguments(), limit, offset)
        counted: int = await conn.fetchval(sql.listing_count, *filters.arguments(), TOTAL_CAP + 1)
    total, is_estimate = capped_total(counted)
    return SearchPage([service_from_row(row) for row in rows], total, is_estimate)


async def select_categories(conn: asyncpg.Connection, *, limit: int = 100) -> list[str]:
    """The distinct categories of active services (first spelling of each), by name."""
    rows = await conn.fetch(
        """
        SELECT min(category) AS category
          FROM services
         WHERE is_active
           AND category IS NOT NULL
           AND category <> ''
         GROUP BY lower(category)
         ORDER BY lower(category)
         LIMIT $1
        """,
        limit,
    )
    return [row["category"] for row in rows]
