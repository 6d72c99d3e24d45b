"""The SQL of the service search (server.models.service_search): the capped count of matches
(with their ids), those ids nearest name first, each field's nearest candidates, the
candidates ranked, and one page's rows.

Parameters of the text queries: $1 the text (typos corrected), $2 its LIKE pattern (NULL below
three characters), $3 its words as a prefix tsquery (NULL for one word), $4-$8 the filters; then
per statement (see SearchSQL). Listing without text: $1-$5 the filters, $6 limit (the cap in the
count), $7 offset.

Each field's nearest-first search reads at most READS_PER_CANDIDATE services per candidate it
keeps: a filter that rejects the text's best matches (guitar lessons are all in Bristol, the
search is near Cardiff) would otherwise make it read every one of them, probing each for the
filters. What such a bounded read misses, the matches the count found make up for (their
nearest names, when a filter is set).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.search_pages import CANDIDATE_BLOCK
from server.models.busy_times import busy_for_provider
from server.models.services import SERVICE_COLUMNS
from server.models.slots import offered


def filters_sql(first: int, *, indexable: bool, day_join: bool = False) -> str:
    """SQL keeping the services (alias `s`) that pass the filters, whose five parameters start
    at $`first`: category (exact, any case); `near` as a LIKE pattern and as text (the service's
    location); a day on which the service must have a free slot (provider-local, as slot_date
    is: not booked, not held for the waitlist, not overlapping a busy time, starting after now
    plus the minimum notice); now.

    Not `indexable`, the category and location tests are written so that no index answers them:
    inside a nearest-first search the planner, which cannot estimate how many services a
    trigram match keeps, would otherwise fetch the whole category and rank it all.

    The day's test is a probe per service (`$day IS NULL OR EXISTS`, which the planner keeps as
    a subplan): what a text search wants, its matches being bounded. With `day_join` (the day
    then given) it is a plain EXISTS, which the planner may turn into a join starting from that
    day's free slots: what listing without text wants, since a day with few free slots would
    otherwise mean probing every service.
    """
    category, near_pattern, near, day, now = (f"${first + n}" for n in range(5))
    column = "s.category" if indexable else "coalesce(s.category, '')"
    location = "s.location" if indexable else "coalesce(s.location, '')"
    free_slot = f"""EXISTS (
               SELECT 1
                 FROM appointments AS slot
                WHERE slot.service_id = s.id
                  AND slot.slot_date = {day}::date
                  AND NOT slot.booked
                  AND slot.starts_at > {now}::timestamptz
                                       + make_interval(mins => s.min_notice_minutes)
                  AND NOT {offered("slot")}
                  AND NOT {busy_for_provider("slot", "s.provider_id")}
           )"""
    # A service without the day among its open days (sql/0024) has no free slot that day.
    open_that_day = f"s.open_days @> ARRAY[{day}::date]"
    day_test = (
        free_slot if day_join else f"({day}::date IS NULL OR ({open_that_day} AND {free_slot}))"
    )
    return f"""
       AND ({category}::text IS NULL OR lower({column}) = lower({category}))
       AND ({near}::text IS NULL OR {location} ILIKE {near_pattern} OR {near} <% {location})
       AND {day_test}"""


# The description is long: a word-similarity match over it cannot be found in index order
# quickly unless the text occurs as it is (bench/README.md). A one-word text ($3 NULL) matches
# descriptions by substring; a longer one by holding every word, in any order, prefixes too
# (full-text; typos were corrected already): its trigrams would be found in every description
# holding its words in any order, each then rechecked for the exact phrase.
DESCRIPTION_WORDS_MATCH = "to_tsvector('simple', s.description) @@ to_tsquery('simple', $3)"
DESCRIPTION_SUBSTRING_MATCH = "($3::text IS NULL AND s.description ILIKE $2)"
PROVIDER_MATCH = "(p.business_name ILIKE $2 OR $1 <% p.business_name)"

# The name weighs most, then the provider's business name and the category, then the
# description; the text found as it is in the name counts extra. Exact words score 1 in
# word_similarity, so they come before fuzzy ones.
RANK = """  3 * word_similarity($1, s.name)
           + 2 * word_similarity($1, p.business_name)
           + 2 * word_similarity($1, coalesce(s.category, ''))
           + word_similarity($1, s.description)
           + CASE WHEN s.name ILIKE $2 THEN 2 ELSE 0 END"""


def own_fields_match(*, negatable: bool = False) -> str:
    """Whether a service's own fields match the text; `negatable` keeps it true or false (never
    NULL) so that NOT of it is meaningful."""
    category = "coalesce(s.category, '')" if negatable else "s.category"
    words = f"coalesce({DESCRIPTION_WORDS_MATCH}, false)" if negatable else DESCRIPTION_WORDS_MATCH
    return f"""(   s.name ILIKE $2
            OR $1 <% s.name
            OR {category} ILIKE $2
            OR $1 <% {category}
            OR {DESCRIPTION_SUBSTRING_MATCH}
            OR {words})"""


# Services read in index order per candidate kept, at most.
READS_PER_CANDIDATE = 5


def block_of(kept_position: str, read_position: str, reads_per_block: int) -> str:
    """SQL: the first block of candidates (server.domain.search_pages) a service kept at
    `kept_position` among a field's filtered services, read at `read_position`, belongs to: a
    block's search keeps CANDIDATE_BLOCK more and reads `reads_per_block` more."""
    return f"greatest(({kept_position}) / {CANDIDATE_BLOCK}, ({read_position}) / {reads_per_block})"


def kept_of_read(read: str, filters: str) -> str:
    """The first $9 services of the subquery `read` (services, alias s, in the order read, at
    most $10 of them) that pass the filters, each with its block."""
    kept = "row_number() OVER (ORDER BY kept.read) - 1"
    block = block_of(kept, "kept.read", CANDIDATE_BLOCK * READS_PER_CANDIDATE)
    return f"""(
        SELECT kept.id, {block} AS block
          FROM (SELECT s.id, s.read
                  FROM (SELECT s.*, row_number() OVER () - 1 AS read
                          FROM ({read}) AS s
                       ) AS s
                 WHERE true
                   {filters}
                 LIMIT $9
               ) AS kept
    )"""


def _nearest(filters: str, field: str, match: str) -> str:
    """Of the first $10 active services nearest to the text ($1) in `field` among those where
    `match` holds (index order), the first $9 that pass the filters."""
    read = f"""
        SELECT s.*
          FROM services AS s
         WHERE s.is_active
           AND {match}
         ORDER BY $1 <<-> s.{field}
         LIMIT $10"""
    return kept_of_read(read, filters)


def _description_words(filters: str) -> str:
    """Of the first $10 active services whose description holds every word (the full-text index
    finds them, in table order: they are ranked after), the first $9 that pass the filters."""
    read = f"""
        SELECT s.*
          FROM services AS s
         WHERE s.is_active
           AND {DESCRIPTION_WORDS_MATCH}
         LIMIT $10"""
    return kept_of_read(read, filters)


def _nearest_providers(filters: str, match: str) -> str:
    """The services of the $9 providers whose business name is nearest to the text ($1): the
    first $9 that pass the filters, in the providers' order."""
    kept = "row_number() OVER (ORDER BY kept.provider_read, kept.id) - 1"
    return f"""(
        SELECT kept.id, {block_of(kept, "kept.provider_read", CANDIDATE_BLOCK)} AS block
          FROM (SELECT s.id, p.read AS provider_read
                  FROM (SELECT p.id, row_number() OVER () - 1 AS read
                          FROM (SELECT p.id
                                  FROM providers AS p
                                 WHERE {match}
                                 ORDER BY $1 <<-> p.business_name
                                 LIMIT $9
                               ) AS p
                       ) AS p
                  JOIN services AS s ON s.provider_id = p.id
                 WHERE s.is_active
                   {filters}
                 ORDER BY p.read, s.id
                 LIMIT $9
               ) AS kept
    )"""


def _matches(filters: str, provider_services_filter: str) -> str:
    """Each matching active, filtered service once: by its own fields, or else
    by its provider's name (each matching provider's services read by provider_id)."""
    return f"""
            SELECT s.id
              FROM services AS s
             WHERE s.is_active
               AND {own_fields_match()}
               {filters}
             UNION ALL
            SELECT s.id
              FROM providers AS p
             CROSS JOIN LATERAL (
                   SELECT s.id
                     FROM services AS s
                    WHERE s.provider_id = p.id
                      AND s.is_active
                      AND {provider_services_filter}
                      {filters}
                   OFFSET 0
                  ) AS s
             WHERE {PROVIDER_MATCH}"""


@dataclass(frozen=True)
class SearchSQL:
    """The statements of one shape of search (with or without the day filter)."""

    # How many services match, counted up to $9, stopping as soon as it has enough; and the
    # first $10 of their ids (run with bitmap scans only: service_search.read_matches_by_bitmaps).
    count: str
    # Each field's candidates: its first $9 filtered services among the first $10 read in index
    # order, as arrays of ids and of their blocks (run with bitmap scans off:
    # service_search.read_in_index_order).
    nearest_candidates: str
    # The candidates ranked: $11 ids with their $12 blocks and, for a text of several words,
    # the description-words candidates ($9 of at most $10 read); id, rank, created_at, block.
    rank_candidates: str
    # No text: newest first ($6 limit, $7 offset), and the count up to $6.
    listing: str
    listing_count: str


def build_search_sql(*, by_day: bool) -> SearchSQL:
    """The statements for searches with a day filter (`by_day`) or without."""
    indexed = filters_sql(4, indexable=True)
    scanned = filters_sql(4, indexable=False)
    nearest = "\n UNION ALL \n".join(
        [
            _nearest(scanned, "name", "s.name ILIKE $2"),
            _nearest(scanned, "name", "$1 <% s.name"),
            _nearest(scanned, "category", "s.category ILIKE $2"),
            _nearest(scanned, "category", "$1 <% s.category"),
            _nearest(scanned, "description", DESCRIPTION_SUBSTRING_MATCH),
            _nearest_providers(scanned, "p.business_name ILIKE $2"),
            _nearest_providers(scanned, "$1 <% p.business_name"),
        ]
    )
    listed = filters_sql(1, indexable=True, day_join=by_day)
    return SearchSQL(
        count=f"""
    SELECT count(*) AS counted,
           coalesce((array_agg(capped.id))[:$10], '{{}}') AS ids
      FROM ({_matches(indexed, f"NOT {own_fields_match(negatable=True)}")}
             LIMIT $9
           ) AS capped
""",
        nearest_candidates=f"""
    SELECT coalesce(array_agg(candidate.id ORDER BY candidate.id), '{{}}') AS ids,
           coalesce(array_agg(candidate.block ORDER BY candidate.id), '{{}}') AS blocks
      FROM (SELECT found.id, min(found.block)::int AS block
              FROM ({nearest}) AS found
             GROUP BY found.id
           ) AS candidate
""",
        rank_candidates=f"""
    WITH candidate AS (
        SELECT found.id, min(found.block)::int AS block
          FROM (SELECT given.id, given.block
                  FROM unnest($11::uuid[], $12::int[]) AS given (id, block)
                 UNION ALL
                {_description_words(scanned)}
               ) AS found
         GROUP BY found.id
    )
    SELECT s.id,
           {RANK} AS rank,
           s.created_at,
           candidate.block
      FROM candidate
      JOIN services AS s ON s.id = candidate.id
      JOIN providers AS p ON p.id = s.provider_id
""",
        listing=f"""
    SELECT {SERVICE_COLUMNS}
      FROM services AS s
      JOIN providers AS p ON p.id = s.provider_id
     WHERE s.is_active
       {listed}
     ORDER BY s.created_at DESC, s.id
     LIMIT $6 OFFSET $7
""",
        listing_count=f"""
    SELECT count(*)
      FROM (
            SELECT 1
              FROM services AS s
             WHERE s.is_active
               {listed}
             LIMIT $6
           ) AS capped
""",
    )


# The services $2, nearest name to the text ($1) first.
NEAREST_NAMES_FIRST = """
    SELECT coalesce(array_agg(s.id ORDER BY $1 <<-> s.name, s.id), '{}')
      FROM services AS s
     WHERE s.id = ANY($2::uuid[])
"""

# One page's services, by id ($1), in no particular order.
PAGE_OF_SERVICES = f"""
    SELECT {SERVICE_COLUMNS}
      FROM services AS s
      JOIN providers AS p ON p.id = s.provider_id
     WHERE s.id = ANY($1::uuid[])
"""

ANY_DAY = build_search_sql(by_day=False)
ON_A_DAY = build_search_sql(by_day=True)
