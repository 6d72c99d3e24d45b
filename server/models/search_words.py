"""The catalogue's words (sql/0021's `search_words`), used to correct typos in search text.

A word of the search text that the catalogue uses, or that starts one of its words (someone
still typing), is kept; any other is replaced by the catalogue's most similar word, when one is
similar enough. "massge" becomes "massage" before searching, so a typo is looked up as cheaply
as the right word and finds what the right word finds.
"""

from __future__ import annotations

import re

import asyncpg

# The same split and bounds as sql/0021's search_words_of().
_NOT_A_WORD_CHARACTER = re.compile(r"[\W_]+")
MIN_WORD_LENGTH = 2
MAX_WORD_LENGTH = 40
# Words beyond this are searched as typed (a search text is short; this bounds the lookups).
MAX_CORRECTED_WORDS = 8
# pg_trgm similarity() a replacement needs at least: "gitar" -> "guitar" is 0.44, while
# unrelated words of similar length score well below 0.3.
CORRECTION_SIMILARITY = 0.3

CORRECT_WORDS_QUERY = """
    SELECT coalesce(
               (SELECT typed.word
                  FROM search_words AS known
                 WHERE known.word LIKE typed.pattern
                 LIMIT 1),
               (SELECT known.word
                  FROM search_words AS known
                 WHERE known.word % typed.word
                 ORDER BY known.word <-> typed.word
                 LIMIT 1),
               typed.word
           ) AS word
      FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS typed (word, pattern, position)
     ORDER BY typed.position
"""


def split_words(text: str) -> list[str]:
    """The lowercased words of `text` the catalogue could hold (as sql/0021 splits them)."""
    words = _NOT_A_WORD_CHARACTER.split(text.lower())
    return [word for word in words if MIN_WORD_LENGTH <= len(word) <= MAX_WORD_LENGTH]


def _prefix_pattern(word: str) -> str:
    """A LIKE pattern for the words starting with `word` (which holds no LIKE wildcards)."""
    return f"{word}%"


async def correct_words(conn: asyncpg.Connection, text: str) -> str:
    """`text` with each word the catalogue does not know replaced by its nearest known word.

    Text without a single correctable word comes back as it was (trimmed), so a search for
    punctuation or a one-letter word still means what was typed.
    """
    words = split_words(text)
    if not words:
        return text.strip()
    words, rest = words[:MAX_CORRECTED_WORDS], words[MAX_CORRECTED_WORDS:]
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', $1, true)",
            str(CORRECTION_SIMILARITY),
        )
        rows = await conn.fetch(CORRECT_WORDS_QUERY, words, [_prefix_pattern(w) for w in words])
    return " ".join([row["word"] for row in rows] + rest)
