"""Searching active services: the best few candidates by nearest-neighbour trigram search,
ranked; an honest total that stops counting at a cap.

The search text's typos are first corrected against the catalogue's own words
(server.models.search_words). Then each searched field (the service's name, description and
category, and its provider's business name) gives its nearest candidates in index order
(`ORDER BY q <<-> field LIMIT k` on sql/0021's GiST indexes), both for a substring match and
for a word-similarity match (`q <% field`). Only these few candidates are ranked, so a query
matching a tenth of the catalogue costs what a narrow one costs. The total is an exact count
of the matches up to TOTAL_CAP (sql/0007's GIN indexes) and "at least TOTAL_CAP" beyond.
Listing without search text walks the newest-first index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from server.models.busy_times import busy
from server.models.search_words import correct_words, split_words
from server.models.services import SERVICE_COLUMNS, Service, service_from_row
from server.models.slots import offered

# word_similarity() at or above this counts as a match: "massge" finds "massage" (0.71),
# while unrelated words of similar length stay well below it. The `<%` operator the indexes
# answer reads it from pg_trgm.word_similarity_threshold, set for the search's transaction.
WORD_SIMILARITY_THRESHOLD = 0.5
# Matches are counted exactly up to this many; beyond it the total says "at least this many".
TOTAL_CAP = 1_000
# Each field's nearest-neighbour search gives candidates in blocks of this many, enough to
# reach the page's last position: pages within one block are cut from the same ranked
# candidates, so paging through them neither repeats nor skips a service.
CANDIDATE_BLOCK = 60
# Shorter text is not looked for inside words (an index cannot find "ab" inside a word).
MIN_SUBSTRING_LENGTH = 3


def filters_sql(first: int) -> str:
    """SQL keeping the services (alias `s`) that pass the filters, whose five parameters start
    at $`first`: category (exact, any case); `near` as a LIKE pattern and as text (the service's
    location); a day on which the service must have a free slot (provider-local, as slot_date
    is: not booked, not held for the waitlist, not overlapping a busy time, starting after now
    plus the minimum notice); now."""
    category, near_pattern, near, day, now = (f"${first + n}" for n in range(5))
    return f"""
       AND ({category}::text IS NULL OR lower(s.category) = lower({category}))
       AND ({near}::text IS NULL OR s.location ILIKE {near_pattern} OR {near} <% s.location)
       AND ({day}::date IS NULL OR EXISTS (
               SELECT 1
                 FROM appointments AS slot
                WHERE slot.service_id = s.id
                  AND slot.slot_date = {day}
                  AND NOT slot.booked
                  AND slot.starts_at > {now}::timestamptz
                                       + make_interval(mins => s.min_notice_minutes)
                  AND NOT {offered("slot")}
                  AND NOT {busy("slot")}
           ))"""


# In the search: $1 the text, $2 its LIKE pattern, $3 its words as a prefix tsquery (or NULL),
# $4-$8 the filters, $9 how many candidates each field gives (in the count: the cap), $10
# limit, $11 offset.
FILTERS = filters_sql(4)
# The description is long: a word-similarity match over it cannot be found in index order
# quickly unless the text occurs as it is (bench/README.md), so it matches by substring, or by
# containing every word (full-text, any order, prefixes too; typos were corrected already).
# A one-word text has no tsquery ($3 is NULL) and matches descriptions by substring; a longer
# one only by its words (its trigrams would be found in every description holding its words in
# any order, each then rechecked for the exact phrase).
DESCRIPTION_WORDS_MATCH = "to_tsvector('simple', s.description) @@ to_tsquery('simple', $3)"
DESCRIPTION_SUBSTRING_MATCH = "($3::text IS NULL AND s.description ILIKE $2)"


def _nearest(field: str, match: str) -> str:
    """The k ($9) active, filtered services nearest to the text ($1) in `field`, among those
    where `match` holds, in index order."""
    return f"""(
        SELECT s.id
          FROM services AS s
         WHERE s.is_active
           AND {match}
           {FILTERS}
         ORDER BY $1 <<-> s.{field}
         LIMIT $9
    )"""


def _nearest_providers(match: str) -> str:
    """The services of the k ($9) providers whose business name is nearest to the text ($1)."""
    return f"""(
        SELECT s.id
          FROM (SELECT p.id, $1 <<-> p.business_name AS distance
                  FROM providers AS p
                 WHERE {match}
                 ORDER BY $1 <<-> p.business_name
                 LIMIT $9) AS p
          JOIN services AS s ON s.provider_id = p.id
         WHERE s.is_active
           {FILTERS}
         ORDER BY p.distance
         LIMIT $9
    )"""


def _description_words() -> str:
    """The first k ($9) active, filtered services whose description holds every word: found by
    the full-text index, in no particular order (they are ranked after)."""
    return f"""(
        SELECT s.id
          FROM services AS s
         WHERE s.is_active
           AND {DESCRIPTION_WORDS_MATCH}
           {FILTERS}
         LIMIT $9
    )"""


CANDIDATES = "\n UNION \n".join(
    [
        _nearest("name", "s.name ILIKE $2"),
        _nearest("name", "$1 <% s.name"),
        _nearest("category", "s.category ILIKE $2"),
        _nearest("category", "$1 <% s.category"),
        _nearest("description", DESCRIPTION_SUBSTRING_MATCH),
        _description_words(),
        _nearest_providers("p.business_name ILIKE $2"),
        _nearest_providers("$1 <% p.business_name"),
    ]
)

# The candidates ranked: the name weighs most, then the provider's business name and the
# category, then the description; the text found as it is in the name counts extra. Exact
# words score 1 in word_similarity, so they come before fuzzy ones.
SEARCH_QUERY = f"""
    WITH candidates AS (
        {CANDIDATES}
    )
    SELECT {SERVICE_COLUMNS},
             3 * word_similarity($1, s.name)
           + 2 * word_similarity($1, p.business_name)
           + 2 * word_similarity($1, coalesce(s.category, ''))
           + word_similarity($1, s.description)
           + CASE WHEN s.name ILIKE $2 THEN 2 ELSE 0 END AS rank
      FROM candidates
      JOIN services AS s ON s.id = candidates.id
      JOIN providers AS p ON p.id = s.provider_id
     ORDER BY rank DESC, s.created_at DESC, s.id
     LIMIT $10 OFFSET $11
"""

# Whether a service's own fields match the text; the provider's name is the other way to match.
_OWN_FIELDS_MATCH = f"""(   s.name ILIKE $2
        OR $1 <% s.name
        OR coalesce(s.category, '') ILIKE $2
        OR $1 <% coalesce(s.category, '')
        OR {DESCRIPTION_SUBSTRING_MATCH}
        OR coalesce({DESCRIPTION_WORDS_MATCH}, false))"""

# How many services match, counted up to $9: each match once (by its own fields, or else by
# its provider's name), the counting stopping as soon as it has enough.
COUNT_QUERY = f"""
    SELECT count(*)
      FROM (
            SELECT s.id
              FROM services AS s
             WHERE s.is_active
               AND {
    _OWN_FIELDS_MATCH.replace("coalesce(s.category, '')", "s.category").replace(
        f"coalesce({DESCRIPTION_WORDS_MATCH}, false)", DESCRIPTION_WORDS_MATCH
    )
}
               {FILTERS}
             UNION ALL
            SELECT s.id
              FROM providers AS p
             CROSS JOIN LATERAL (
                   SELECT s.id
                     FROM services AS s
                    WHERE s.provider_id = p.id
                      AND s.is_active
                      AND NOT {_OWN_FIELDS_MATCH}
                      {FILTERS}
                   OFFSET 0  -- each matching provider's own services, by provider_id
                  ) AS s
             WHERE p.business_name ILIKE $2 OR $1 <% p.business_name
             LIMIT $9
           ) AS capped
"""

# Listing without text: $1-$5 the filters, $6 limit (in the count: the cap), $7 offset.
_LIST_FILTERS = filters_sql(1)

LIST_QUERY = f"""
    SELECT {SERVICE_COLUMNS}
      FROM services AS s
      JOIN providers AS p ON p.id = s.provider_id
     WHERE s.is_active
       {_LIST_FILTERS}
     ORDER BY s.created_at DESC, s.id
     LIMIT $6 OFFSET $7
"""

LIST_COUNT_QUERY = f"""
    SELECT count(*)
      FROM (
            SELECT 1
              FROM services AS s
             WHERE s.is_active
               {_LIST_FILTERS}
             LIMIT $6
           ) AS capped
"""


@dataclass(frozen=True)
class SearchFilters:
    """What every result must also be: of a category, near a place, free on a day."""

    category: str | None = None
    near: str | None = None
    available_on: date | None = None
    # The moment a slot must start after (plus its service's minimum notice) to count as free.
    now: datetime | None = None

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


def candidates_per_field(limit: int, offset: int) -> int:
    """How many candidates each field gives for the page: whole blocks up to its end."""
    blocks = (offset + limit + CANDIDATE_BLOCK - 1) // CANDIDATE_BLOCK
    return blocks * CANDIDATE_BLOCK


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
    few); no parallel workers (starting them costs more than these small reads)."""
    await conn.execute(
        """
        SELECT set_config('pg_trgm.word_similarity_threshold', $1, true),
               set_config('plan_cache_mode', 'force_custom_plan', true),
               set_config('enable_seqscan', 'off', true),
               set_config('max_parallel_workers_per_gather', '0', true)
        """,
        str(WORD_SIMILARITY_THRESHOLD),
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
    async with conn.transaction():
        await set_search_settings(conn)
        rows = await conn.fetch(
            SEARCH_QUERY, *arguments, candidates_per_field(limit, offset), limit, offset
        )
        counted: int = await conn.fetchval(COUNT_QUERY, *arguments, TOTAL_CAP + 1)
    total, is_estimate = capped_total(counted)
    return SearchPage([service_from_row(row) for row in rows], total, is_estimate)


async def _list_services(
    conn: asyncpg.Connection, *, filters: SearchFilters, limit: int, offset: int
) -> SearchPage:
    async with conn.transaction():
        await set_search_settings(conn)
        rows = await conn.fetch(LIST_QUERY, *filters.arguments(), limit, offset)
        counted: int = await conn.fetchval(LIST_COUNT_QUERY, *filters.arguments(), TOTAL_CAP + 1)
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
