"""Forward-only SQL migrations from sql/, applied in order, each in its own transaction."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from server.infra.paths import SQL_DIR
from server.infra.sql_statements import split_statements

log = logging.getLogger(__name__)

# Any fixed number works; it only has to be the same in every process that migrates.
MIGRATION_LOCK_ID = 7_041_999_001


class MigrationError(RuntimeError):
    """A migration could not be applied, or the database is ahead of this code."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = SQL_DIR) -> list[Migration]:
    """The migration files in name order (0001_…, 0002_…)."""
    return [
        Migration(path.name, path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("[0-9]*.sql"))
    ]


async def migrate(dsn: str, directory: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations and return their names; a no-op when there are none."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    try:
        # A session-level advisory lock: a second runner waits here, then finds nothing to do.
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await _ensure_state_table(conn)
            checksums = await _applied_checksums(conn)
            applied = set(checksums)
            _refuse_unknown(applied, migrations)
            _warn_about_edited(checksums, migrations)
            pending = [m for m in migrations if m.name not in applied]
            for migration in pending:
                await _apply(conn, migration)
            return [m.name for m in pending]
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    finally:
        await conn.close()


async def _ensure_state_table(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            name        text        PRIMARY KEY,
            checksum    text        NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )


async def _applied_checksums(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch(
        """
        SELECT name, checksum
          FROM schema_migrations
        """
    )
    return {row["name"]: row["checksum"] for row in rows}


def _warn_about_edited(applied: dict[str, str], migrations: list[Migration]) -> None:
    # Migrations are never edited once applied; an edit will not run again, so say so.
    for migration in migrations:
        recorded = applied.get(migration.name)
        if recorded is not None and recorded != migration.checksum:
            log.warning(
                "%s changed after it was applied; the change is not applied", migration.name
            )


def _refuse_unknown(applied: set[str], migrations: list[Migration]) -> None:
    unknown = sorted(applied - {m.name for m in migrations})
    if unknown:
        raise MigrationError(
            "the database has migrations this code does not know: "
            + ", ".join(unknown)
            + " (is this an older version of Appointly?)"
        )


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    statements = split_statements(migration.sql)
    async with conn.transaction():
        for number, statement in enumerate(statements, start=1):
            try:
                await conn.execute(statement)
            except asyncpg.PostgresError as error:
                raise MigrationError(
                    f"{migration.name}: statement {number} failed: {error}\n{statement}"
                ) from error
        await conn.execute(
            """
            INSERT INTO schema_migrations (name, checksum)
            VALUES ($1, $2)
            """,
            migration.name,
            migration.checksum,
        )
    log.info("applied migration %s", migration.name)
