"""Searching active services: typo-tolerant trigram matching plus plain substring matching.

Matching is done by the trigram GIN indexes of sql/0007 (substring `ILIKE` and the word
similarity operator `<%`), one branch for the service's own fields and one for its provider's
name; only the services found are ranked. Listing without search text walks the newest-first
index.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.models.services import SERVICE_COLUMNS, Service, service_from_row

# word_similarity() at or above this counts as a match: "massge" finds "massage" (0.71),
# while unrelated words of similar length stay well below it. The `<%` operator the indexes
# answer reads it from pg_trgm.word_similarity_threshold, set for the search's transaction.
WORD_SIMILARITY_THRESHOLD = 0.5

# Services whose name, description, category or provider's name contains the text ($2 is its
# LIKE pattern) or a word like it ($1 <% column); the category filter ($3) applies to what
# was found. The name weighs most, then the provider's business name and the category, then
# the description.
SEARCH_QUERY = f"""
    WITH matched AS (
        SELECT s.id
          FROM services AS s
         WHERE s.is_active
           AND (   s.name ILIKE $2
                OR s.description ILIKE $2
                OR s.category ILIKE $2
                OR $1 <% s.name
                OR $1 <% s.description
                OR $1 <% s.category)
         UNION
        SELECT s.id
          FROM providers AS p
          JOIN services AS s ON s.provider_id = p.id
         WHERE s.is_active
           AND (p.business_name ILIKE $2 OR $1 <% p.business_name)
    ),
    ranked AS (
        SELECT {SERVICE_COLUMNS},
               s.created_at,
                 3 * word_similarity($1, s.name)
               + 2 * word_similarity($1, p.business_name)
               + 2 * word_similarity($1, coalesce(s.category, ''))
               + word_similarity($1, s.description)
               + CASE WHEN s.name ILIKE $2 THEN 2 ELSE 0 END AS rank
          FROM matched
          JOIN services AS s ON s.id = matched.id
          JOIN providers AS p ON p.id = s.provider_id
         WHERE $3::text IS NULL OR lower(s.category) = lower($3)
    )
    SELECT *, count(*) OVER () AS total
      FROM ranked
     ORDER BY rank DESC, created_at DESC, id
     LIMIT $4 OFFSET $5
"""

_LIST_QUERY = f"""
    SELECT {SERVICE_COLUMNS}
      FROM services AS s
      JOIN providers AS p ON p.id = s.provider_id
     WHERE s.is_active
       AND ($1::text IS NULL OR lower(s.category) = lower($1))
     ORDER BY s.created_at DESC, s.id
     LIMIT $2 OFFSET $3
"""

_COUNT_QUERY = """
    SELECT count(*)
      FROM services AS s
     WHERE s.is_active
       AND ($1::text IS NULL OR lower(s.category) = lower($1))
"""


@dataclass(frozen=True)
class SearchPage:
    services: list[Service]
    total: int


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere, with its own % and _ taken literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_services(
    conn: asyncpg.Connection,
    *,
    query: str | None,
    category: str | None,
    limit: int,
    offset: int,
) -> SearchPage:
    """Active services matching `query` (best first) and `category` (exact, any case).

    With no query they are listed newest first.
    """
    if query is None:
        return await _list_services(conn, category=category, limit=limit, offset=offset)
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
            str(WORD_SIMILARITY_THRESHOLD),
        )
        rows = await conn.fetch(SEARCH_QUERY, query, like_pattern(query), category, limit, offset)
    if not rows and offset > 0:
        total = await _count_matches(conn, query=query, category=category)
        return SearchPage([], total)
    total = rows[0]["total"] if rows else 0
    return SearchPage([service_from_row(row) for row in rows], total)


async def _list_services(
    conn: asyncpg.Connection, *, category: str | None, limit: int, offset: int
) -> SearchPage:
    rows = await conn.fetch(_LIST_QUERY, category, limit, offset)
    total: int = await conn.fetchval(_COUNT_QUERY, category)
    return SearchPage([service_from_row(row) for row in rows], total)


async def _count_matches(conn: asyncpg.Connection, *, query: str, category: str | None) -> int:
    """The total when the page asked for lies past the last match."""
    page = await search_services(conn, query=query, category=category, limit=1, offset=0)
    return page.total


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
