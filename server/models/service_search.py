"""Searching active services: typo-tolerant trigram matching plus plain substring matching."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.models.services import SERVICE_COLUMNS, Service, service_from_row

# word_similarity() at or above this counts as a match: "massge" finds "massage" (0.71),
# while unrelated words of similar length stay well below it.
WORD_SIMILARITY_THRESHOLD = 0.5


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

    With no query they are listed newest first. The name weighs most, then the provider's
    business name and the category, then the description.
    """
    rows = await conn.fetch(
        f"""
        WITH ranked AS (
            SELECT {SERVICE_COLUMNS},
                   s.created_at,
                   CASE WHEN $1::text IS NULL THEN 0 ELSE
                       3 * word_similarity($1, s.name)
                     + 2 * word_similarity($1, p.business_name)
                     + 2 * word_similarity($1, coalesce(s.category, ''))
                     + word_similarity($1, s.description)
                     + CASE WHEN s.name ILIKE $2 THEN 2 ELSE 0 END
                   END AS rank
              FROM services AS s
              JOIN providers AS p ON p.id = s.provider_id
             WHERE s.is_active
               AND ($3::text IS NULL OR lower(s.category) = lower($3))
               AND ($1::text IS NULL
                    OR s.name ILIKE $2
                    OR s.description ILIKE $2
                    OR s.category ILIKE $2
                    OR p.business_name ILIKE $2
                    OR word_similarity($1, s.name) >= $6
                    OR word_similarity($1, p.business_name) >= $6
                    OR word_similarity($1, coalesce(s.category, '')) >= $6
                    OR word_similarity($1, s.description) >= $6)
        )
        SELECT *, count(*) OVER () AS total
          FROM ranked
         ORDER BY rank DESC, created_at DESC, id
         LIMIT $4 OFFSET $5
        """,
        query,
        like_pattern(query) if query else None,
        category,
        limit,
        offset,
        WORD_SIMILARITY_THRESHOLD,
    )
    if not rows and offset > 0:
        total = await _count_matches(conn, query=query, category=category)
        return SearchPage([], total)
    total = rows[0]["total"] if rows else 0
    return SearchPage([service_from_row(row) for row in rows], total)


async def _count_matches(
    conn: asyncpg.Connection, *, query: str | None, category: str | None
) -> int:
    """The total when the page asked for lies past the last match."""
    page = await search_services(conn, query=query, category=category, limit=1, offset=0)
    return page.total
