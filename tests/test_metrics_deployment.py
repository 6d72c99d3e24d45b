"""Where the deployment's processes count (the shared multi-process folder) and the private
`--metrics-bind` address."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.infra.metrics_dir import tidy_metrics_dir
from tests.support.cli_process import (
    appointly_env,
    assert_no_traceback,
    run_appointly,
    start_appointly,
)
from tests.support.scrapes import REQUESTS, parse, value
from tests.support.serving import free_port

# --- The shared folder ------------------------------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _files(folder: Path, *pids: int) -> None:
    for pid in pids:
        for kind in ("counter", "histogram", "gauge_livesum"):
            (folder / f"{kind}_{pid}.db").write_bytes(b"")


def test_a_process_starting_alone_empties_the_metrics_folder(tmp_path: Path) -> None:
    dead = _dead_pid()
    _files(tmp_path, dead, os.getpid())

    tidy_metrics_dir(tmp_path, at_start=True)

    assert list(tmp_path.iterdir()) == []


def test_beside_live_processes_only_dead_processes_live_gauges_go(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    _files(tmp_path, dead, alive)

    tidy_metrics_dir(tmp_path, at_start=True)

    assert sorted(file.name for file in tmp_path.iterdir()) == sorted(
        [
            f"counter_{dead}.db",
            f"histogram_{dead}.db",  # kept: the deployment's totals never go backwards
            f"counter_{alive}.db",
            f"histogram_{alive}.db",
            f"gauge_livesum_{alive}.db",
        ]
    )


def test_a_scrape_keeps_its_own_processes_files(tmp_path: Path) -> None:
    _files(tmp_path, os.getpid())

    tidy_metrics_dir(tmp_path)

    assert len(list(tmp_path.iterdir())) == 3


# --- --metrics-bind -----------------------------------------------------------------------------


@pytest.fixture
def serve_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """What `appointly serve` runs with here: the test services, its own metrics folder."""
    return appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        APP_ENV="test",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )


@pytest.mark.slow
async def test_a_metrics_address_serves_only_metrics_and_without_a_token(
    serve_env: dict[str, str], tmp_path: Path
) -> None:
    env = serve_env
    private = f"127.0.0.1:{free_port()}"
    server = await start_appointly(
        "serve", "--metrics-bind", private, env=env, output=tmp_path / "serve.log"
    )
    try:
        await server.wait_until_serving()
        async with httpx.AsyncClient(base_url=f"http://{private}") as scraper:
            scraped = await scraper.get("/metrics")
            other = await scraper.get("/healthz")
        async with server.client() as public:
            refused = await public.get("/metrics")
    finally:
        await server.kill()

    assert scraped.status_code == 200
    assert value(parse(scraped.text), REQUESTS, route="/healthz", method="GET", status="200") >= 1
    assert other.status_code == 404
    assert refused.status_code == 404  # no METRICS_TOKEN: the public address has no /metrics


@pytest.mark.slow
async def test_with_several_web_processes_the_metrics_address_counts_them_all(
    serve_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**serve_env, "DB_POOL_SIZE": "2"}
    private = f"127.0.0.1:{free_port()}"
    server = await start_appointly(
        "serve", "--workers", "2", "--metrics-bind", private, env=env, output=tmp_path / "s.log"
    )
    try:
        await server.wait_until_serving()
        for _ in range(10):  # a connection each: SO_REUSEPORT spreads them over the processes
            async with server.client() as public:
                assert (await public.get("/healthz")).status_code == 200
        async with httpx.AsyncClient(base_url=f"http://{private}") as scraper:
            scraped = await scraper.get("/metrics")
    finally:
        await server.kill()

    assert scraped.status_code == 200, server.log()
    assert value(parse(scraped.text), REQUESTS, route="/healthz", method="GET", status="200") >= 10


async def test_a_malformed_metrics_address_is_refused_at_start(database_url: str) -> None:
    env = appointly_env(DATABASE_URL=database_url, APP_ENV="test")

    finished = await run_appointly("serve", "--metrics-bind", "no-port", env=env)

    assert finished.status == 2
    assert "--metrics-bind" in finished.stderr
    assert_no_traceback(finished.stderr)
