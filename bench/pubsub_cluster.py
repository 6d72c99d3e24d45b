"""What a Redis Cluster costs per published change: SPUBLISH (sharded) against plain PUBLISH.

Run with `.venv/bin/python -m bench.pubsub_cluster [--messages 200000] [--subscribers 4]`.

A local three-master cluster (tests/support/redis_cluster.py) gets `--subscribers` subscriber
connections (as many server processes watching the channel) on the node that owns the
channel. `redis-benchmark` publishes `--messages` 200-byte messages to that node, first with
PUBLISH (the raw baseline: on a cluster it is also broadcast over the cluster bus to every
other node, whether or not anyone there listens), then with SPUBLISH (only the owning shard
carries it). Same subscribers, same deliveries; it prints messages/s and the CPU seconds each
node spent, so the cluster's cost per message sits beside the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bench.common import machine_note
from tests.support.redis_cluster import ClusterNode, LocalCluster, redis_binary, redis_cluster

CHANNEL = "appointly:service:bench:slots"
PAYLOAD = "x" * 200


@dataclass
class Run:
    command: str
    per_second: float
    cpu_seconds: dict[int, float]  # node port -> CPU seconds spent during the run
    received: int


async def node_cpu(node: ClusterNode) -> float:
    client = Redis.from_url(node.url)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def subscriber(node: ClusterNode, command: str) -> asyncio.subprocess.Process:
    """A redis-cli holding `command CHANNEL` on `node`, reading everything sent to it."""
    process = await asyncio.create_subprocess_exec(
        redis_binary("redis-cli"), "-p", str(node.port), command, CHANNEL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return process


async def count_messages(
    process: asyncio.subprocess.Process, kind: bytes, counts: list[int]
) -> None:
    """Count into `counts[0]` every message `process` prints."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        if line.strip() == kind:
            counts[0] += 1


async def wait_until_delivered(counts: list[int], expected: int, quiet: float = 3.0) -> None:
    """Until the subscribers have read `expected` messages, or read nothing for `quiet` s."""
    seen, still_since = counts[0], asyncio.get_running_loop().time()
    while counts[0] < expected:
        await asyncio.sleep(0.1)
        now = asyncio.get_running_loop().time()
        if counts[0] != seen:
            seen, still_since = counts[0], now
        elif now - still_since > quiet:
            return


async def measure(cluster: LocalCluster, command: str, messages: int, subscribers: int) -> Run:
    owner = await cluster.node_of(CHANNEL)
    listen, kind = (
        ("SSUBSCRIBE", b"smessage") if command == "SPUBLISH" else ("SUBSCRIBE", b"message")
    )
    processes = [await subscriber(owner, listen) for _ in range(subscribers)]
    counts = [0]
    counters = [asyncio.create_task(count_messages(p, kind, counts)) for p in processes]
    await wait_for_subscribers(cluster, command, len(processes))
    before = {node.port: await node_cpu(node) for node in cluster.nodes}
    bench = await asyncio.create_subprocess_exec(
        redis_binary("redis-benchmark"), "-p", str(owner.port),
        "-c", "20", "-n", str(messages), "-P", "16", "-q", command, CHANNEL, PAYLOAD,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await bench.communicate()
    after = {node.port: await node_cpu(node) for node in cluster.nodes}
    found = re.findall(r"([\d.]+) requests per second", output.decode())
    assert found, output.decode()
    await wait_until_delivered(counts, messages * subscribers)
    for process in processes:
        if process.returncode is None:
            process.terminate()
    await asyncio.gather(*counters)
    for process in processes:
        await process.wait()
    cpu = {port: after[port] - before[port] for port in before}
    return Run(command, float(found[-1]), cpu, counts[0])


async def wait_for_subscribers(cluster: LocalCluster, command: str, expected: int) -> None:
    async with asyncio.timeout(20):
        while True:
            total = 0
            for node in cluster.nodes:
                client = Redis.from_url(node.url)
                try:
                    numsub = "SHARDNUMSUB" if command == "SPUBLISH" else "NUMSUB"
                    reply = await client.execute_command("PUBSUB", numsub, CHANNEL)
                finally:
                    await client.aclose()
                total += int(reply[1]) if command == "SPUBLISH" else int(reply[0][1])
            if total >= expected:
                return
            await asyncio.sleep(0.1)


async def unlimited_subscriber_buffers(cluster: LocalCluster) -> None:
    """redis-cli reads slower than redis-benchmark publishes: let its backlog grow rather than
    have Redis drop it (as Redis would drop a real server process that fell that far behind)."""
    for node in cluster.nodes:
        client = Redis.from_url(node.url)
        try:
            await client.config_set("client-output-buffer-limit", "pubsub 0 0 0")
        finally:
            await client.aclose()


async def run(messages: int, subscribers: int) -> list[Run]:
    with tempfile.TemporaryDirectory() as directory:
        async with redis_cluster(Path(directory)) as cluster:
            await unlimited_subscriber_buffers(cluster)
            return [
                await measure(cluster, "PUBLISH", messages, subscribers),
                await measure(cluster, "SPUBLISH", messages, subscribers),
            ]


def report(runs: list[Run], messages: int, subscribers: int) -> None:
    print(f"# Pub/sub on a 3-master Redis Cluster, {machine_note()}")
    print(f"{messages} messages of {len(PAYLOAD)} bytes, {subscribers} subscribers on the owner")
    for result in runs:
        total = sum(result.cpu_seconds.values())
        nodes = " / ".join(f"{seconds:.2f}" for seconds in result.cpu_seconds.values())
        print(
            f"{result.command:9} {result.per_second:>10,.0f} msg/s"
            f"  delivered {result.received:,} of {messages * subscribers:,}"
            f"  CPU s per node {nodes}  = {total:.2f} s,"
            f" {total / messages * 1e6:.1f} µs per message across the cluster"
        )
    plain, sharded = runs
    ratio = sum(sharded.cpu_seconds.values()) / max(sum(plain.cpu_seconds.values()), 1e-9)
    print(f"cluster CPU per message, SPUBLISH / PUBLISH: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--subscribers", type=int, default=4)
    args = parser.parse_args()
    report(asyncio.run(run(args.messages, args.subscribers)), args.messages, args.subscribers)


if __name__ == "__main__":
    main()
