"""Running the `appointly` command as a real subprocess, and waiting on what it does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis

from tests.support.serving import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
APPOINTLY = str(Path(sys.executable).parent / "appointly")
WORKER_HEALTH_KEY = "appointly:queue:health-check"
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "APPOINTLY_DATA_DIR",
    "SECRET_KEY",
    "APP_ENV",
    "BASE_URL",
)


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

    def client(self) -> httpx.AsyncClient:
        """An HTTP client of this process with a cookie jar of its own."""
        return httpx.AsyncClient(base_url=self.url, timeout=15)

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

    def children(self, command: str | None = None) -> list[int]:
        """The process's children; with `command`, those running `appointly COMMAND`."""
        pid = self.process.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        found = [int(child) for child in path.read_text().split()] if path.exists() else []
        return found if command is None else [child for child in found if command in _argv(child)]

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


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except FileNotFoundError:
        return []


async def wait_for_child(running: Running, command: str, timeout: float = 30) -> int:
    """The pid of the child running `appointly COMMAND` (worker, sockets), once it runs."""
    async with asyncio.timeout(timeout):
        while not running.children(command):
            assert running.process.returncode is None, running.log()
            await asyncio.sleep(0.05)
    return running.children(command)[0]


async def wait_for_worker_child(running: Running, timeout: float = 30) -> int:
    return await wait_for_child(running, "worker", timeout)


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
