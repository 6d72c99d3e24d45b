"""A real HAProxy (Debian's package) as a child process, in front of processes the test started.

The configuration comes from server.infra.haproxy, written into a temporary directory, and
HAProxy runs in the foreground (`-db`) so the test owns it and stops it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.infra.haproxy import Balancer, haproxy_binary, haproxy_config
from tests.support.serving import free_port

BACKEND_HEADER = "X-Appointly-Backend"


@dataclass
class RunningBalancer:
    url: str
    process: asyncio.subprocess.Process
    output: Path

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    async def wait_until_every_web_process_answers(
        self, names: Sequence[str], timeout: float = 30
    ) -> None:
        """Until requests through the balancer have been answered by each of `names`."""
        seen: set[str] = set()
        async with asyncio.timeout(timeout), httpx.AsyncClient(base_url=self.url) as http:
            while not set(names) <= seen:
                assert self.process.returncode is None, self.log()
                try:
                    response = await http.get("/healthz")
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                    continue
                if response.status_code == 200:
                    seen.add(response.headers[BACKEND_HEADER])
                else:
                    await asyncio.sleep(0.1)


@asynccontextmanager
async def haproxy(
    directory: Path, web: Sequence[str], sockets: Sequence[str] = (), port: int | None = None
) -> AsyncIterator[RunningBalancer]:
    """HAProxy on loopback `port` (a free one by default) in front of `web` (and `sockets`
    for /ws/)."""
    port = port or free_port()
    config = directory / "haproxy.cfg"
    config.write_text(
        haproxy_config(
            Balancer(
                listen=f"127.0.0.1:{port}",
                web=web,
                sockets=sockets,
                name_backends=True,
                max_connections=4096,
                health_check_interval="500ms",
            )
        )
    )
    binary = haproxy_binary()
    check = await asyncio.create_subprocess_exec(
        binary,
        "-c",
        "-f",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    checked, _ = await asyncio.wait_for(check.communicate(), 30)
    assert check.returncode == 0, checked.decode()
    output = directory / "haproxy.log"
    with output.open("wb") as handle:
        process = await asyncio.create_subprocess_exec(
            binary, "-f", str(config), "-db", stdout=handle, stderr=asyncio.subprocess.STDOUT
        )
    balancer = RunningBalancer(f"http://127.0.0.1:{port}", process, output)
    try:
        yield balancer
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
