"""/metrics: the deployment's Prometheus metrics, read with the Prometheus client's own parser,
moving by exactly what happened, across several real processes sharing one metrics folder."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import LiveApp, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.cli_process import (
    APPOINTLY,
    REPOSITORY,
    Running,
    appointly_env,
    assert_no_traceback,
    run_appointly,
    start_appointly,
)
from tests.support.scrapes import REQUESTS, SCRAPER, TOKEN, Samples, moved, parse, scrape, value
from tests.support.sockets import watch_slots


def test_the_cli_module_does_not_load_prometheus_client_before_choosing_the_folder() -> None:
    # prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when first imported.
    check = "import sys, server.cli; print('prometheus_client' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=REPOSITORY
    )

    assert result.stdout.strip() == "False"


# --- Who may scrape -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def metered(start_app: StartApp) -> LiveApp:
    return await start_app(metrics_token=TOKEN)


async def test_without_metrics_token_there_is_no_metrics_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers=SCRAPER)

    assert response.status_code == 404


async def test_a_scrape_without_the_token_is_refused_with_401(metered: LiveApp) -> None:
    async with metered.client() as http:
        missing = await http.get("/metrics")
        basic = await http.get("/metrics", headers={"Authorization": "Basic dXNlcjpwdw=="})

    for response in (missing, basic):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_scrape_with_a_wrong_token_is_refused_with_403(metered: LiveApp) -> None:
    async with metered.client() as http:
        response = await http.get("/metrics", headers={"Authorization": "Bearer not-the-token"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


# --- What a scrape says -------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template_never_by_raw_path(metered: LiveApp) -> None:
    async with metered.client() as http:
        before = await scrape(http)
        for _ in range(2):
            await http.get(f"/api/services/{uuid.uuid4()}")
        await http.get(f"/no/such/{uuid.uuid4()}")
        response = await http.get("/metrics", headers=SCRAPER)
    after = parse(response.text)

    route = "/api/services/<service_id>"
    counted = "appointly_http_requests_total"
    assert (
        value(after, counted, route=route, method="GET", status="404")
        - value(before, counted, route=route, method="GET", status="404")
        == 2
    )
    assert (
        value(after, counted, route="unmatched", method="GET", status="404")
        - value(before, counted, route="unmatched", method="GET", status="404")
        == 1
    )
    timed = "appointly_http_request_duration_seconds_count"
    assert (
        value(after, timed, route=route, method="GET")
        - value(before, timed, route=route, method="GET")
        == 2
    )
    assert "/api/services/" not in response.text.replace(route, "")  # no raw path anywhere


async def test_the_outbox_backlog_is_read_from_the_database_at_scrape_time(
    metered: LiveApp, db: asyncpg.Connection
) -> None:
    async with metered.client() as provider, metered.client() as guest:
        await make_provider(provider)
        service = await create_service(provider)
        slot = (await free_slots(guest, service["id"], tomorrow()))[0]
        assert (await book(guest, slot["id"])).status_code == 201
        await db.execute(
            """
            UPDATE outbox
               SET next_attempt_at = now() - interval '90 seconds'
             WHERE kind = 'booking_received'
            """
        )
        samples = await scrape(provider)

    rows = await db.fetch(
        "SELECT kind, count(*) AS n FROM outbox WHERE status = 'pending' GROUP BY kind"
    )
    assert rows
    for row in rows:
        assert value(samples, "appointly_outbox_pending", kind=row["kind"]) == row["n"]
    assert value(samples, "appointly_outbox_oldest_due_age_seconds") >= 90


# --- Across processes ---------------------------------------------------------------------------


@pytest.fixture
def shared_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return appointly_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="shared-by-every-web-process",
        APP_ENV="test",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )


@pytest.fixture
async def two_servers(
    shared_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[Running, Running]]:
    """Two real web processes counting into one metrics folder."""
    servers = [
        await start_appointly("serve", env=shared_env, output=tmp_path / f"serve-{n}.log")
        for n in (1, 2)
    ]
    try:
        await asyncio.gather(*(server.wait_until_serving() for server in servers))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            await server.kill()


BOOKINGS = "/api/bookings"


@pytest.mark.slow
async def test_two_processes_count_a_booking_a_lost_race_and_a_socket_session_together(
    two_servers: tuple[Running, Running],
) -> None:
    one, other = two_servers
    async with one.client() as provider, one.client() as guest, other.client() as rival:
        await make_provider(provider)
        service = await create_service(provider)
        day = tomorrow()
        first, contested = (await free_slots(guest, service["id"], day))[:2]
        before = await scrape(guest)

        async with watch_slots(one.url, service["id"], day) as watcher:
            during = await scrape(rival)
            assert (await book(rival, first["id"])).status_code == 201
            await watcher.wait_for_view(lambda view: not view[first["start_time"]]["available"])
        race = await asyncio.gather(book(guest, contested["id"]), book(rival, contested["id"]))
        assert sorted(response.status_code for response in race) == [201, 409]

        after_one, after_other = await _when_socket_closed(one, other)

    assert moved(before, after_one, REQUESTS, route=BOOKINGS, method="POST", status="201") == 2
    assert moved(before, after_one, REQUESTS, route=BOOKINGS, method="POST", status="409") == 1
    for name, labels in (
        (REQUESTS, {"route": BOOKINGS, "method": "POST", "status": "201"}),
        (REQUESTS, {"route": BOOKINGS, "method": "POST", "status": "409"}),
        ("appointly_websocket_frames_sent_total", {"kind": "slots"}),
    ):
        assert value(after_one, name, **labels) == value(after_other, name, **labels)
    frames = moved(before, after_one, "appointly_websocket_frames_sent_total", kind="slots")
    assert frames == len(watcher.frames)
    assert value(during, "appointly_websocket_connections", kind="slots") == 1
    assert value(after_one, "appointly_websocket_connections", kind="slots") == 0
    assert moved(before, after_one, "appointly_fanout_latency_seconds_count") >= 1
    assert value(after_one, "appointly_db_pool_in_use") >= 0


async def _when_socket_closed(one: Running, other: Running) -> tuple[Samples, Samples]:
    """Scrapes of both processes once the watcher's socket has closed on the server too."""
    async with asyncio.timeout(10), one.client() as first, other.client() as second:
        while True:
            samples = await scrape(first)
            if value(samples, "appointly_websocket_connections", kind="slots") == 0:
                return samples, await scrape(second)
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_job_run_by_another_process_is_counted_once_it_has_exited(
    two_servers: tuple[Running, Running], shared_env: dict[str, str]
) -> None:
    one, other = two_servers
    async with one.client() as http:
        before = await scrape(http)

    finished = await run_appointly("run-job", "send_reminders", env=shared_env)
    assert finished.status == 0, finished.stderr
    assert_no_traceback(finished.stderr)

    for server in (one, other):
        async with server.client() as http:
            after = await scrape(http)
        runs = moved(before, after, "appointly_job_runs_total", job="send_reminders", outcome="ok")
        assert runs == 1
        timed = "appointly_job_duration_seconds_count"
        assert moved(before, after, timed, job="send_reminders") == 1


@pytest.mark.slow
async def test_the_workers_jobs_are_counted_on_the_web_processes_scrape(
    two_servers: tuple[Running, Running], shared_env: dict[str, str], tmp_path: Path
) -> None:
    one, _ = two_servers
    output = tmp_path / "worker.log"
    with output.open("wb") as handle:
        worker = await asyncio.create_subprocess_exec(
            APPOINTLY, "worker", env=shared_env, cwd=REPOSITORY, stdout=handle, stderr=handle
        )
    try:
        # The outbox sweep runs at the worker's start, then every 5 seconds.
        samples = await _until(one, lambda s: _job_runs(s, "deliver_outbox") >= 1, timeout=60)
    finally:
        worker.send_signal(signal.SIGINT)
        await asyncio.wait_for(worker.wait(), 30)

    assert _job_runs(samples, "deliver_outbox") >= 1
    assert value(samples, "appointly_job_runs_total", job="deliver_outbox", outcome="failed") == 0
    assert_no_traceback(output.read_text())


def _job_runs(samples: Samples, job: str) -> float:
    return value(samples, "appointly_job_runs_total", job=job, outcome="ok")


async def _until(server: Running, check: Any, timeout: float) -> Samples:
    async with asyncio.timeout(timeout), server.client() as http:
        while True:
            samples = await scrape(http)
            if check(samples):
                return samples
            await asyncio.sleep(0.2)
