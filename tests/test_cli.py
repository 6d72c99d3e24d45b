"""The `appointly` command as an operator uses it: real processes, real signals."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from tests.support.serving import free_port

REPOSITORY = Path(__file__).resolve().parent.parent
APPOINTLY = str(Path(sys.executable).parent / "appointly")
WORKER_HEALTH_KEY = "appointly:queue:health-check"
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "APPOINTLY_DATA_DIR", "SECRET_KEY", "APP_ENV")


def appointly_env(**variables: str) -> dict[str, str]:
    """The test process's environment without Appointly's settings, plus `variables`."""
    env = {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}
    env.update(variables)
    return env


@dataclass
class Finished:
    status: int
    stdout: str
    stderr: str


async def run_appointly(*args: str, env: Mapping[str, str], timeout: float = 60) -> Finished:
    process = await asyncio.create_subprocess_exec(
        APPOINTLY,
        *args,
        env=dict(env),
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


@dataclass
class Running:
    """A long-running `appointly` process whose output goes to files (it can be chatty)."""

    process: asyncio.subprocess.Process
    url: str
    output: Path

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    async def wait_until_serving(self, timeout: float = 60) -> None:
        async with asyncio.timeout(timeout), httpx.AsyncClient(base_url=self.url) as http:
            while True:
                assert self.process.returncode is None, self.log()
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def children(self) -> list[int]:
        pid = self.process.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(child) for child in path.read_text().split()] if path.exists() else []

    async def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C, as a terminal sends it, and the exit status."""
        self.process.send_signal(signal.SIGINT)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start_appointly(*args: str, env: Mapping[str, str], output: Path) -> Running:
    port = free_port()
    handle = output.open("wb")
    try:
        process = await asyncio.create_subprocess_exec(
            APPOINTLY,
            *args,
            "--bind",
            f"127.0.0.1:{port}",
            env=dict(env),
            cwd=REPOSITORY,
            stdout=handle,
            stderr=asyncio.subprocess.STDOUT,
        )
    finally:
        handle.close()
    return Running(process, f"http://127.0.0.1:{port}", output)


async def wait_until_gone(pid: int, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
            await asyncio.sleep(0.05)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, IndexError):
        return True


async def wait_for_worker_child(running: Running, timeout: float = 30) -> int:
    async with asyncio.timeout(timeout):
        while not running.children():
            assert running.process.returncode is None, running.log()
            await asyncio.sleep(0.05)
    return running.children()[0]


async def wait_for_worker_heartbeat(redis_url: str, timeout: float = 30) -> None:
    """arq writes a health-check key once the worker is polling the queue."""
    client = Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(timeout):
            while not await client.exists(WORKER_HEALTH_KEY):
                await asyncio.sleep(0.1)
    finally:
        await client.aclose()


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


# --- fixtures -----------------------------------------------------------------------------------


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@asynccontextmanager
async def throwaway_database(admin_database_url: str) -> AsyncIterator[str]:
    """An empty database of its own on the test server, dropped afterwards."""
    name = f"appointly_cli_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def throwaway_database_url(admin_database_url: str) -> AsyncIterator[str]:
    async with throwaway_database(admin_database_url) as url:
        yield url


@pytest.fixture
def service_env(throwaway_database_url: str, redis_url: str) -> dict[str, str]:
    return appointly_env(DATABASE_URL=throwaway_database_url, REDIS_URL=redis_url)


# --- tests --------------------------------------------------------------------------------------


async def test_migrate_applies_the_files_then_has_nothing_to_apply(
    service_env: dict[str, str], throwaway_database_url: str
) -> None:
    first = await run_appointly("migrate", env=service_env)
    assert first.status == 0, first.stderr
    assert first.stdout.startswith("applied: 0001_accounts.sql")
    second = await run_appointly("migrate", env=service_env)
    assert second.status == 0, second.stderr
    assert second.stdout.strip() == "nothing to apply"
    conn = await asyncpg.connect(throwaway_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 2
    finally:
        await conn.close()


@pytest.mark.parametrize("job", ["top_up_slots", "send_reminders", "expire_holds"])
async def test_run_job_runs_one_job_once_and_exits_0(service_env: dict[str, str], job: str) -> None:
    assert (await run_appointly("migrate", env=service_env)).status == 0
    finished = await run_appointly("run-job", job, env=service_env)
    assert finished.status == 0, finished.stderr
    assert finished.stdout.startswith(f"{job}: ")
    assert_no_traceback(finished.stderr)


async def test_run_job_refuses_an_unknown_job(service_env: dict[str, str]) -> None:
    finished = await run_appointly("run-job", "make_coffee", env=service_env)
    assert finished.status == 2
    assert "invalid choice" in finished.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLOT_HORIZON_DAYS", "abc"),
        ("APP_ENV", "staging"),
        ("DATABASE_URL", "mysql://db/appointly"),
    ],
)
async def test_a_configuration_error_is_one_clear_line_and_exit_2(
    service_env: dict[str, str], variable: str, value: str
) -> None:
    finished = await run_appointly("migrate", env={**service_env, variable: value})
    assert finished.status == 2
    assert "configuration error" in finished.stderr
    assert variable in finished.stderr
    assert_no_traceback(finished.stderr)


async def test_production_without_a_secret_key_does_not_start(
    service_env: dict[str, str],
) -> None:
    finished = await run_appointly("migrate", env={**service_env, "APP_ENV": "production"})
    assert finished.status == 2
    assert "SECRET_KEY" in finished.stderr


async def test_an_unreachable_database_is_a_clear_error_not_a_traceback(
    service_env: dict[str, str], admin_database_url: str
) -> None:
    missing = _with_database(admin_database_url, f"no_such_db_{secrets.token_hex(4)}")
    finished = await run_appointly("migrate", env={**service_env, "DATABASE_URL": missing})
    assert finished.status == 1
    assert finished.stderr.startswith("appointly: ") or "\nappointly: " in finished.stderr
    assert "does not exist" in finished.stderr
    assert_no_traceback(finished.stderr)


async def test_a_failing_migration_exits_1_naming_the_file(
    service_env: dict[str, str], throwaway_database_url: str
) -> None:
    # A table the first migration will try to create already exists with another shape.
    conn = await asyncpg.connect(throwaway_database_url)
    try:
        await conn.execute("CREATE TABLE users (nothing int)")
    finally:
        await conn.close()
    finished = await run_appointly("migrate", env=service_env)
    assert finished.status == 1
    assert "migration failed: 0001_accounts.sql: statement" in finished.stderr
    assert_no_traceback(finished.stderr)


async def test_run_serves_web_and_worker_and_ctrl_c_stops_both(
    service_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    running = await start_appointly("run", env=service_env, output=tmp_path / "run.log")
    try:
        await running.wait_until_serving()
        worker_pid = await wait_for_worker_child(running)
        await wait_for_worker_heartbeat(redis_url)
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.get("/healthz")).json() == {"ok": True}
            assert (await http.get("/")).status_code == 200
        status = await running.interrupt()
        await wait_until_gone(worker_pid)
    finally:
        await running.kill()
    log = running.log()
    assert status == 0, log
    assert "shutdown on SIGTERM" in log  # the worker shut down gracefully, not killed
    assert_no_traceback(log)


async def test_run_stops_cleanly_on_sigterm_too(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    running = await start_appointly("run", env=service_env, output=tmp_path / "run.log")
    try:
        await running.wait_until_serving()
        worker_pid = await wait_for_worker_child(running)
        running.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(running.process.wait(), 30)
        await wait_until_gone(worker_pid)
    finally:
        await running.kill()
    assert status == 0, running.log()
    assert_no_traceback(running.log())


async def test_run_stops_when_its_worker_dies(service_env: dict[str, str], tmp_path: Path) -> None:
    running = await start_appointly("run", env=service_env, output=tmp_path / "run.log")
    try:
        await running.wait_until_serving()
        worker_pid = await wait_for_worker_child(running)
        os.kill(worker_pid, signal.SIGKILL)
        status = await asyncio.wait_for(running.process.wait(), 30)
    finally:
        await running.kill()
    assert status == 1
    assert "worker stopped unexpectedly" in running.log()


async def test_serve_serves_the_web_app_alone_and_stops_on_ctrl_c(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    assert (await run_appointly("migrate", env=service_env)).status == 0
    running = await start_appointly("serve", env=service_env, output=tmp_path / "serve.log")
    try:
        await running.wait_until_serving()
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.get("/login")).status_code == 200
        assert running.children() == []  # no worker
        status = await running.interrupt()
    finally:
        await running.kill()
    assert status == 0, running.log()
    assert_no_traceback(running.log())


async def test_python_dash_m_server_is_the_same_command(service_env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "migrate",
        env=service_env,
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    assert stdout.decode().startswith("applied: ")


async def test_worker_runs_alone_and_stops_gracefully_on_ctrl_c(
    service_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    assert (await run_appointly("migrate", env=service_env)).status == 0
    output = tmp_path / "worker.log"
    with output.open("wb") as handle:
        process = await asyncio.create_subprocess_exec(
            APPOINTLY, "worker", env=service_env, cwd=REPOSITORY, stdout=handle, stderr=handle
        )
    try:
        await wait_for_worker_heartbeat(redis_url)
        process.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = output.read_text()
    assert status == 0, log
    assert "shutdown on SIGINT" in log
    assert_no_traceback(log)
