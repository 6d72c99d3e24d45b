"""`appointly serve --workers N`: N processes answer on one address, share what they must
(one SECRET_KEY, so a session made through one is good at the others; one database and
Redis), and Ctrl-C stops them all (server/infra/web_processes.py)."""

from __future__ import annotations

import asyncio
import os
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import make_provider
from tests.support.cli_process import (
    Running,
    appointly_env,
    assert_no_traceback,
    run_appointly,
    start_appointly,
    wait_until_gone,
)

CONNECTIONS = 24


@pytest.fixture
def service_env(empty_database_url: str, redis_url: str) -> dict[str, str]:
    # No SECRET_KEY: development's random key, which the parent must make once for all.
    # Small pools: 24 simultaneous requests need no more, and the test shares PostgreSQL's
    # max_connections with the rest of the suite.
    return appointly_env(DATABASE_URL=empty_database_url, REDIS_URL=redis_url, DB_POOL_SIZE="3")


def established_connections(pid: int, port: int) -> int:
    """How many accepted TCP connections on `port` the process `pid` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


async def wait_for_children(running: Running, count: int) -> list[int]:
    async with asyncio.timeout(30):
        while len(running.children("serve")) < count:
            assert running.process.returncode is None, running.log()
            await asyncio.sleep(0.05)
    return running.children("serve")


async def test_serve_with_two_workers_answers_from_both_processes_with_one_session(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    assert (await run_appointly("migrate", env=service_env)).status == 0
    running = await start_appointly(
        "serve", "--workers", "2", env=service_env, output=tmp_path / "serve.log"
    )
    try:
        await running.wait_until_serving()
        children = await wait_for_children(running, 2)
        assert len(children) == 2
        # The parent runs one socket tier for both (each web process starting its own would
        # fight over one port).
        async with asyncio.timeout(30):
            while len(running.children("sockets")) != 1:
                await asyncio.sleep(0.05)
        async with running.client() as signing_up:
            await make_provider(signing_up)
            me = (await signing_up.get("/api/me")).json()["user"]
            cookies = signing_up.cookies
        async with AsyncExitStack() as stack:
            # Fresh connections: the kernel spreads them over the two processes' sockets.
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=running.url, cookies=cookies, timeout=15)
                )
                for _ in range(CONNECTIONS)
            ]
            answers = await asyncio.gather(*(client.get("/api/me") for client in clients))
            assert [answer.status_code for answer in answers] == [200] * CONNECTIONS
            assert {answer.json()["user"]["id"] for answer in answers} == {me["id"]}
            # Every one of those signed-in answers came over a connection one of the two
            # processes holds, and each holds some: both answered, with the one session.
            port = urlsplit(running.url).port
            assert port is not None
            held = [established_connections(pid, port) for pid in children]
            assert sum(held) == CONNECTIONS, held
            assert all(count > 0 for count in held), held
        status = await running.interrupt()
        for pid in children:
            await wait_until_gone(pid)
    finally:
        await running.kill()
    assert status == 0, running.log()
    assert_no_traceback(running.log())


async def test_workers_default_to_hypercorn_toml_and_must_be_at_least_one(
    service_env: dict[str, str],
) -> None:
    refused = await run_appointly("serve", "--workers", "0", env=service_env)
    assert refused.status == 1
    assert "--workers must be at least 1" in refused.stderr
