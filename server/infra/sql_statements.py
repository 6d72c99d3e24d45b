"""Split a SQL file into statements so a failing migration can name the statement that failed."""

from __future__ import annotations

import re

# $$ or $tag$; a tag cannot start with a digit, so $1 stays a parameter.
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")


def split_statements(sql: str) -> list[str]:
    """Return the statements of `sql`, respecting quotes, dollar quotes and comments."""
    statements: list[str] = []
    start = 0
    i = 0
    length = len(sql)
    while i < length:
        char = sql[i]
        if char == "-" and sql.startswith("--", i):
            i = _end_of(sql, "\n", i + 2)
        elif char == "/" and sql.startswith("/*", i):
            i = _end_of(sql, "*/", i + 2)
        elif char == "'" and _is_escape_string(sql, i):
            i = _end_of_escape_string(sql, i + 1)
        elif char in ("'", '"'):
            i = _end_of_quoted(sql, char, i + 1)
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            i = _end_of(sql, tag.group(), tag.end())
        elif char == ";":
            _append(statements, sql[start:i])
            start = i = i + 1
        else:
            i += 1
    _append(statements, sql[start:])
    return statements


def _end_of(sql: str, terminator: str, position: int) -> int:
    found = sql.find(terminator, position)
    return len(sql) if found < 0 else found + len(terminator)


def _end_of_quoted(sql: str, quote: str, position: int) -> int:
    while True:
        found = sql.find(quote, position)
        if found < 0:
            return len(sql)
        # A doubled quote is an escaped quote inside the literal.
        if sql.startswith(quote * 2, found):
            position = found + 2
            continue
        return found + 1


def _is_escape_string(sql: str, quote: int) -> bool:
    # E'…' (escape string syntax): a backslash escapes the next character, quotes included.
    return (
        quote > 0
        and sql[quote - 1] in "eE"
        and (quote == 1 or not (sql[quote - 2].isalnum() or sql[quote - 2] == "_"))
    )


def _end_of_escape_string(sql: str, position: int) -> int:
    while position < len(sql):
        char = sql[position]
        if char == "\\" or sql.startswith("''", position):
            position += 2
        elif char == "'":
            return position + 1
        else:
            position += 1
    return len(sql)


def _append(statements: list[str], text: str) -> None:
    if _has_code(text):
        statements.append(text.strip())


def _has_code(text: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)
    return bool(without_comments.strip())
