"""Listening on a Redis Cluster: SSUBSCRIBE per shard (realtime.cluster_publisher publishes).

On a cluster a plain PUBLISH is broadcast to every node over the cluster bus, so each node
carries every message and adding nodes adds no capacity. Sharded pub/sub keeps a message on
the shard (master and its replicas) owning its channel's hash slot. It has no pattern
subscriptions, so a process subscribes to a topic's channel when its first local subscriber
arrives and unsubscribes when the last one leaves (realtime.broker calls `want` and `drop`),
with one connection per shard node carrying that node's channels.

Each confirmation of an SSUBSCRIBE is reported (`on_subscribed`): from then on everything
published on the channel arrives, so the broker has that topic's sockets resync, which covers
both a new topic (its sockets read their snapshot before the subscription was live) and a
shard connection that was lost and made again. A lost shard connection costs only its own
channels: they are placed again after a fresh look at the cluster's slots (a failover or a
slot that moved puts them on another node) and resubscribed.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.crc import key_slot
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0
CLOSE_TIMEOUT = 2.0

Address = tuple[str, int]
MessageHandler = Callable[[str, bytes], Awaitable[None]]


class ShardLost(Exception):
    """A shard connection stopped answering, or the shard gave a channel away."""


@dataclass(frozen=True)
class SlotMap:
    """Which master owns each hash slot (from CLUSTER SLOTS)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    owners: tuple[Address, ...]

    @classmethod
    def from_cluster_slots(cls, reply: Iterable[Any]) -> SlotMap:
        ranges = sorted((int(row[0]), int(row[1]), _address(row[2])) for row in reply)
        return cls(
            tuple(r[0] for r in ranges), tuple(r[1] for r in ranges), tuple(r[2] for r in ranges)
        )

    def owner(self, channel: str) -> Address:
        slot = key_slot(channel.encode())
        index = bisect.bisect_right(self.starts, slot) - 1
        if index < 0 or slot > self.ends[index]:
            raise ShardLost(f"no node serves hash slot {slot}")
        return self.owners[index]

    @property
    def nodes(self) -> set[Address]:
        return set(self.owners)


def _address(node: Any) -> Address:
    host = node[0].decode() if isinstance(node[0], bytes) else str(node[0])
    return host, int(node[1])


class ShardedSubscriber:
    """SSUBSCRIBE for the channels this process has subscribers for, one connection per shard
    node. `run` lasts until cancelled; it raises only when no node tells it the slot map."""

    def __init__(
        self,
        seed: Redis,
        on_message: MessageHandler,
        on_subscribed: Callable[[str], None],
        *,
        ping_interval: float,
        pong_timeout: float,
    ) -> None:
        self._seed = seed
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._wanted: set[str] = set()
        self._placed: dict[str, _Shard] = {}
        self._shards: dict[Address, _Shard] = {}
        self._map: SlotMap | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._backoffs: dict[Address, float] = {}

    # --- What the broker asks for -------------------------------------------------------------

    def want(self, channel: str) -> None:
        self._wanted.add(channel)
        if self._map is not None and channel not in self._placed:
            self._place(channel)

    def drop(self, channel: str) -> None:
        self._wanted.discard(channel)
        shard = self._placed.pop(channel, None)
        if shard is not None:
            shard.forget(channel)

    # --- Running ------------------------------------------------------------------------------

    async def run(self, on_ready: Callable[[], None]) -> None:
        self._map = await self._load_map()
        try:
            for channel in sorted(self._wanted):
                self._place(channel)
            on_ready()
            await asyncio.Event().wait()  # the shards work in their own tasks
        finally:
            self._map = None
            self._placed.clear()
            self._shards.clear()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _place(self, channel: str) -> None:
        assert self._map is not None
        try:
            address = self._map.owner(channel)
        except ShardLost:
            log.warning("no shard for %s yet; it is placed when the slot map changes", channel)
            return
        shard = self._shards.get(address)
        if shard is None:
            shard = _Shard(address, self)
            self._shards[address] = shard
            self._start(shard.run_until_lost(), name=f"appointly-shard-{address[1]}")
        self._placed[channel] = shard
        shard.add(channel)

    def _start(self, work: Awaitable[None], name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def shard_lost(self, shard: _Shard, error: BaseException) -> None:
        """A shard's connection ended: place its channels again, soon if it had worked, else
        after a backoff that doubles while the node stays away."""
        log.warning("lost the Redis shard %s:%s (%s); resubscribing", *shard.address, error)
        previous = self._backoffs.get(shard.address, FIRST_BACKOFF / 2)
        backoff = FIRST_BACKOFF if shard.worked else min(previous * 2, MAX_BACKOFF)
        self._backoffs[shard.address] = backoff
        if self._shards.get(shard.address) is shard:
            del self._shards[shard.address]
        orphans = [channel for channel, placed in self._placed.items() if placed is shard]
        for channel in orphans:
            del self._placed[channel]
        self._start(self._replace(orphans, backoff), name="appointly-shard-recovery")

    def channels_moved(self, shard: _Shard, channels: list[str]) -> None:
        """Their slot has a new owner: place them again once the slot map says which."""
        for channel in channels:
            if self._placed.get(channel) is shard:
                del self._placed[channel]
        self._start(self._replace(channels, FIRST_BACKOFF), name="appointly-shard-moved")

    async def _replace(self, channels: list[str], backoff: float) -> None:
        await asyncio.sleep(backoff)
        with contextlib.suppress(RedisError, OSError, TimeoutError, ShardLost):
            self._map = await self._load_map()  # a failover or a moved slot shows here
        if self._map is None:
            return
        for channel in channels:
            if channel in self._wanted and channel not in self._placed:
                self._place(channel)

    async def _load_map(self) -> SlotMap:
        """The slot map, from the seed node or else any node known from the last map."""
        candidates: list[Address | None] = [None, *sorted(self._map.nodes if self._map else ())]
        error: BaseException | None = None
        for address in candidates:
            try:
                return SlotMap.from_cluster_slots(await self._cluster_slots(address))
            except (RedisError, OSError, TimeoutError) as failure:
                error = failure
        raise ShardLost(f"no cluster node answered CLUSTER SLOTS ({error})")

    async def _cluster_slots(self, address: Address | None) -> Any:
        if address is None:
            return await self._seed.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
        connection = self.node_connection(address)
        try:
            await connection.connect()  # type: ignore[no-untyped-call]
            await connection.send_command("CLUSTER", "SLOTS")
            return await connection.read_response()
        finally:
            await connection.disconnect()

    def node_connection(self, address: Address) -> AbstractConnection:
        """A connection to a cluster node with the seed client's options (password, timeouts)."""
        pool = self._seed.connection_pool
        options = {**pool.connection_kwargs, "host": address[0], "port": address[1], "db": 0}
        options["health_check_interval"] = 0  # the shard pings on its own schedule
        connection: AbstractConnection = pool.connection_class(**options)
        return connection

    @property
    def ping_interval(self) -> float:
        return self._ping_interval

    @property
    def pong_timeout(self) -> float:
        return self._pong_timeout

    async def message(self, channel: str, data: bytes) -> None:
        await self._on_message(channel, data)

    def subscribed(self, channel: str) -> None:
        if channel in self._wanted:
            self._on_subscribed(channel)


class _Shard:
    """One connection to one shard node, subscribed to the channels placed on it.

    The reading loop and the writer of (un)subscribe commands share the connection: a command
    is written whole while a read may be waiting, and every reply is read by the loop.
    """

    def __init__(self, address: Address, owner: ShardedSubscriber) -> None:
        self.address = address
        self._owner = owner
        self._channels: set[str] = set()
        self._changed = asyncio.Event()
        self._sent: set[str] = set()  # channels an SSUBSCRIBE went out for, not unsubscribed
        # Whether the node ever answered: a connection that worked is retried at once.
        self.worked = False

    def add(self, channel: str) -> None:
        self._channels.add(channel)
        self._changed.set()

    def forget(self, channel: str) -> None:
        self._channels.discard(channel)
        self._changed.set()

    async def run_until_lost(self) -> None:
        """Subscribe and read until the connection fails; then tell the owner (which places
        this shard's channels again)."""
        connection = self._owner.node_connection(self.address)
        try:
            await connection.connect()  # type: ignore[no-untyped-call]
            reader = asyncio.ensure_future(self._read(connection))
            writer = asyncio.ensure_future(self._write_changes(connection))
            try:
                done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()  # re-raises what ended it
            finally:
                for task in (reader, writer):
                    task.cancel()
                await asyncio.gather(reader, writer, return_exceptions=True)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, TimeoutError, ShardLost) as error:
            self._owner.shard_lost(self, error)
        finally:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await connection.disconnect()

    async def _write_changes(self, connection: AbstractConnection) -> None:
        while True:
            self._changed.clear()
            sent = self._sent
            added, removed = self._channels - sent, sent - self._channels
            commands = [("SSUBSCRIBE", *group) for group in _by_slot(added)]
            commands += [("SUNSUBSCRIBE", *group) for group in _by_slot(removed)]
            if commands:
                if not connection.is_connected:  # never let a send reconnect unsubscribed
                    raise ShardLost("connection closed")
                await connection.send_packed_command(
                    connection.pack_commands(commands), check_health=False
                )
                self._sent = (sent | added) - removed
            await self._changed.wait()

    async def _read(self, connection: AbstractConnection) -> None:
        last_heard = time.monotonic()
        pinged_at: float | None = None  # a ping waiting for its pong
        owner = self._owner
        while True:
            deadline = (
                last_heard + owner.ping_interval
                if pinged_at is None
                else pinged_at + owner.pong_timeout
            )
            try:
                reply = await connection.read_response(
                    timeout=max(deadline - time.monotonic(), 0.01)
                )
            except ResponseError as error:  # an error answer: the connection itself is fine
                self._refused(error)
                last_heard, pinged_at = time.monotonic(), None
                continue
            now = time.monotonic()
            if reply is None:
                if pinged_at is not None and now - pinged_at >= owner.pong_timeout:
                    raise ShardLost(f"no pong within {owner.pong_timeout:g}s")
                if pinged_at is None and now - last_heard >= owner.ping_interval:
                    await connection.send_command("PING", check_health=False)
                    pinged_at = now
                continue
            last_heard, pinged_at = now, None
            self.worked = True
            await self._handle(reply)

    def _refused(self, error: ResponseError) -> None:
        """`MOVED slot host:port` answers an SSUBSCRIBE for a slot this node no longer owns:
        its channels go to the new owner; the others here stay subscribed."""
        words = str(error).split()
        if len(words) < 2 or words[0] != "MOVED" or not words[1].isdigit():
            raise ShardLost(f"the node refused a subscription: {error}")
        slot = int(words[1])
        moved = [channel for channel in self._channels if key_slot(channel.encode()) == slot]
        for channel in moved:
            self._channels.discard(channel)
            self._sent.discard(channel)
        self._owner.channels_moved(self, moved)

    async def _handle(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return  # PONG outside subscribed mode
        kind, channel = bytes(reply[0]).lower(), _text(reply[1])
        if kind == b"smessage":
            await self._owner.message(channel, reply[2])
        elif kind == b"ssubscribe":
            self._owner.subscribed(channel)
        elif kind == b"sunsubscribe" and channel in self._channels:
            # Either the node gave the slot away (resharding, failover) or this is the answer
            # to an unsubscribe sent just before the channel was wanted again (a page reload).
            # Subscribing again settles both: the node confirms it, or answers MOVED, and the
            # channel is then placed on its new owner.
            self._sent.discard(channel)
            self._changed.set()


def _by_slot(channels: set[str]) -> list[list[str]]:
    """One (un)subscribe command may only name channels of one hash slot."""
    groups: dict[int, list[str]] = {}
    for channel in sorted(channels):
        groups.setdefault(key_slot(channel.encode()), []).append(channel)
    return list(groups.values())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
