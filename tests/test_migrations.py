"""The migration runner: forward-only SQL files, each in its own transaction, recorded once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from server.infra.migrations import MigrationError, migrate
from server.infra.paths import SQL_DIR
from server.infra.sql_statements import split_statements

# --- the statement splitter (pure) --------------------------------------------------------------


def test_splitter_splits_on_semicolons_and_drops_empty_statements() -> None:
    sql = "CREATE TABLE a (id int);\n\nCREATE TABLE b (id int);\n;\n"
    assert split_statements(sql) == ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"]


def test_splitter_keeps_a_semicolon_inside_a_string_literal() -> None:
    sql = "INSERT INTO t VALUES ('a;b', 'it''s; fine'); SELECT 1"
    assert split_statements(sql) == ["INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT 1"]


def test_splitter_keeps_a_semicolon_inside_a_quoted_identifier() -> None:
    sql = 'CREATE TABLE "odd;name" (id int); SELECT 2'
    assert split_statements(sql) == ['CREATE TABLE "odd;name" (id int)', "SELECT 2"]


def test_splitter_keeps_dollar_quoted_function_bodies_whole() -> None:
    body = (
        "CREATE FUNCTION f() RETURNS trigger AS $body$\n"
        "BEGIN\n  PERFORM 1; RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql"
    )
    anonymous = "DO $$ BEGIN RAISE NOTICE 'x;y'; END $$"
    assert split_statements(f"{body};\n{anonymous};") == [body, anonymous]


def test_splitter_ignores_semicolons_in_comments_and_comment_only_chunks() -> None:
    sql = (
        "-- a leading comment; with a semicolon\n"
        "SELECT 1; /* a block; comment */\n"
        "SELECT 2 -- trailing; comment\n;\n"
        "-- only a comment at the end;\n"
    )
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].endswith("SELECT 1")
    assert statements[1].startswith("/* a block; comment */")
    assert "SELECT 2" in statements[1]


def test_splitter_understands_backslash_escapes_in_e_strings() -> None:
    sql = r"INSERT INTO t VALUES (E'it\'s; escaped', e'a\\'); SELECT 'plain\'; SELECT 3"
    assert split_statements(sql) == [
        r"INSERT INTO t VALUES (E'it\'s; escaped', e'a\\')",
        r"SELECT 'plain\'",
        "SELECT 3",
    ]


def test_splitter_does_not_mistake_positional_parameters_for_dollar_quotes() -> None:
    assert split_statements("SELECT $1; SELECT $2") == ["SELECT $1", "SELECT $2"]


# --- the runner against a real PostgreSQL ------------------------------------------------------


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


async def _recorded(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
        return [row["name"] for row in rows]
    finally:
        await conn.close()


async def _table_exists(dsn: str, table: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        found: bool = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        return found
    finally:
        await conn.close()


TWO_FILES = {
    "0001_first.sql": "CREATE TABLE first_table (id int PRIMARY KEY);",
    "0002_second.sql": (
        "CREATE TABLE second_table (id int PRIMARY KEY);\n"
        "INSERT INTO second_table (id) VALUES (1);\n"
    ),
}


async def test_migrate_applies_every_file_in_order_and_records_it(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "sql", TWO_FILES)
    applied = await migrate(empty_database_url, directory)
    assert applied == ["0001_first.sql", "0002_second.sql"]
    assert await _recorded(empty_database_url) == ["0001_first.sql", "0002_second.sql"]
    assert await _table_exists(empty_database_url, "second_table")


async def test_running_migrate_twice_changes_nothing_the_second_time(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "sql", TWO_FILES)
    await migrate(empty_database_url, directory)
    assert await migrate(empty_database_url, directory) == []
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM second_table") == 1
    finally:
        await conn.close()
    assert await _recorded(empty_database_url) == ["0001_first.sql", "0002_second.sql"]


async def test_a_new_file_is_applied_on_the_next_run_and_only_it(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "sql", TWO_FILES)
    await migrate(empty_database_url, directory)
    _write(directory, {"0003_third.sql": "INSERT INTO second_table (id) VALUES (2);"})
    assert await migrate(empty_database_url, directory) == ["0003_third.sql"]


async def test_two_runners_started_at_once_apply_each_migration_exactly_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Not idempotent on purpose: applying 0002 twice would fail on the duplicate key.
    directory = _write(tmp_path / "sql", TWO_FILES)
    first, second = await asyncio.gather(
        migrate(empty_database_url, directory), migrate(empty_database_url, directory)
    )
    assert sorted(first + second) == ["0001_first.sql", "0002_second.sql"]
    assert await _recorded(empty_database_url) == ["0001_first.sql", "0002_second.sql"]


async def test_migrate_refuses_a_database_that_is_ahead_of_the_code(
    empty_database_url: str, tmp_path: Path
) -> None:
    newer = _write(tmp_path / "newer", TWO_FILES)
    await migrate(empty_database_url, newer)
    older = _write(tmp_path / "older", {"0001_first.sql": TWO_FILES["0001_first.sql"]})
    with pytest.raises(MigrationError, match=r"0002_second\.sql"):
        await migrate(empty_database_url, older)


async def test_a_failing_file_names_itself_and_its_statement_and_leaves_no_trace(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(
        tmp_path / "sql",
        {
            "0001_first.sql": TWO_FILES["0001_first.sql"],
            "0002_broken.sql": (
                "CREATE TABLE half_done (id int);\n"
                "ALTER TABLE no_such_table ADD COLUMN x int;\n"
                "CREATE TABLE never_reached (id int);\n"
            ),
        },
    )
    with pytest.raises(MigrationError) as raised:
        await migrate(empty_database_url, directory)
    message = str(raised.value)
    assert "0002_broken.sql" in message
    assert "statement 2" in message
    assert "ALTER TABLE no_such_table" in message
    assert not await _table_exists(empty_database_url, "half_done")
    assert await _recorded(empty_database_url) == ["0001_first.sql"]


async def test_a_fixed_file_applies_after_an_earlier_failure(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "sql", {"0001_bad.sql": "CREATE TABLE t (id int); SELECT 1/0;"})
    with pytest.raises(MigrationError):
        await migrate(empty_database_url, directory)
    _write(directory, {"0001_bad.sql": "CREATE TABLE t (id int);"})
    assert await migrate(empty_database_url, directory) == ["0001_bad.sql"]


async def test_the_real_sql_folder_applies_cleanly_to_an_empty_database(
    empty_database_url: str,
) -> None:
    applied = await migrate(empty_database_url, SQL_DIR)
    assert applied == sorted(path.name for path in SQL_DIR.glob("[0-9]*.sql"))
    assert await migrate(empty_database_url, SQL_DIR) == []
    conn = await asyncpg.connect(empty_database_url)
    try:
        extensions = {
            row["extname"] for row in await conn.fetch("SELECT extname FROM pg_extension")
        }
    finally:
        await conn.close()
    assert {"btree_gist", "pg_trgm", "citext"} <= extensions


async def test_editing_an_applied_file_is_reported_not_reapplied(
    empty_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = _write(tmp_path / "sql", TWO_FILES)
    await migrate(empty_database_url, directory)
    _write(directory, {"0001_first.sql": "CREATE TABLE first_table (id bigint PRIMARY KEY);"})
    assert await migrate(empty_database_url, directory) == []
    assert "0001_first.sql changed after it was applied" in caplog.text
