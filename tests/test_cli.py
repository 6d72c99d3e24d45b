"""The `appointly` command as an operator uses it: real processes, real signals."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.infra.embedded import stop_embedded
from tests.conftest import make_provider, with_database
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.cli_process import (
    APPOINTLY,
    REPOSITORY,
    appointly_env,
    assert_no_traceback,
    run_appointly,
    start_appointly,
    wait_for_worker_child,
    wait_for_worker_heartbeat,
    wait_until_gone,
)

# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def service_env(empty_database_url: str, redis_url: str) -> dict[str, str]:
    return appointly_env(DATABASE_URL=empty_database_url, REDIS_URL=redis_url)


# --- tests --------------------------------------------------------------------------------------


async def test_migrate_applies_the_files_then_has_nothing_to_apply(
    service_env: dict[str, str], empty_database_url: str
) -> None:
    first = await run_appointly("migrate", env=service_env)
    assert first.status == 0, first.stderr
    assert first.stdout.startswith("applied: 0001_accounts.sql")
    second = await run_appointly("migrate", env=service_env)
    assert second.status == 0, second.stderr
    assert second.stdout.strip() == "nothing to apply"
    conn = await asyncpg.connect(empty_database_url)
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
    missing = with_database(admin_database_url, f"no_such_db_{secrets.token_hex(4)}")
    finished = await run_appointly("migrate", env={**service_env, "DATABASE_URL": missing})
    assert finished.status == 1
    assert finished.stderr.startswith("appointly: ") or "\nappointly: " in finished.stderr
    assert "does not exist" in finished.stderr
    assert_no_traceback(finished.stderr)


async def test_a_failing_migration_exits_1_naming_the_file(
    service_env: dict[str, str], empty_database_url: str
) -> None:
    # A table the first migration will try to create already exists with another shape.
    conn = await asyncpg.connect(empty_database_url)
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
        assert running.children("worker") == []  # no worker; the socket tier only
        status = await running.interrupt()
    finally:
        await running.kill()
    assert status == 0, running.log()
    assert_no_traceback(running.log())


async def test_without_base_url_links_follow_the_bound_port(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    assert (await run_appointly("migrate", env=service_env)).status == 0
    running = await start_appointly("serve", env=service_env, output=tmp_path / "serve.log")
    try:
        await running.wait_until_serving()
        async with running.client() as provider, running.client() as guest:
            await make_provider(provider)
            service = await create_service(provider)
            slot = (await free_slots(guest, service["id"], tomorrow()))[0]
            response = await book(guest, slot["id"])
        assert response.status_code == 201, response.text
        assert response.json()["manage_url"].startswith(f"{running.url}/bookings/")
    finally:
        await running.kill()


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


async def test_without_secret_key_a_restart_keeps_everyone_signed_in(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Redis left to the embedded one, as the one-command start leaves both: the data folder
    # is in use, and the key is kept there.
    data_dir = tmp_path / "data"
    env = appointly_env(DATABASE_URL=empty_database_url, APPOINTLY_DATA_DIR=str(data_dir))
    try:
        assert (await run_appointly("migrate", env=env)).status == 0
        first = await start_appointly("serve", env=env, output=tmp_path / "first.log")
        try:
            await first.wait_until_serving()
            async with first.client() as browser:
                await make_provider(browser)
                assert (await browser.get("/api/me")).status_code == 200
                cookies = browser.cookies
            assert await first.interrupt() == 0, first.log()
        finally:
            await first.kill()
        again = await start_appointly("serve", env=env, output=tmp_path / "again.log")
        try:
            await again.wait_until_serving()
            async with httpx.AsyncClient(base_url=again.url, cookies=cookies) as browser:
                me = await browser.get("/api/me")
            assert me.status_code == 200, me.text
        finally:
            await again.kill()
    finally:
        await asyncio.to_thread(stop_embedded, data_dir)
    # The key it kept across the restart, readable by its owner only.
    assert (data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
