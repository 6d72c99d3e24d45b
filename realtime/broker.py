"""One Redis subscription per server process, fanned out to that process's WebSockets.

The broker holds a single pub/sub connection with pattern subscriptions for every Appointly
channel. Each socket registers a Subscription for one topic (a service's slots, a provider's
appointments) and reads from its own bounded queue. A message is turned into what sockets send
once per process (by the topic kind's handler), then handed to each subscriber of the topic.

A subscriber that falls behind by more than its queue's limit is marked overflowed and its
socket closes itself; it never grows memory or slows the others. When the connection to Redis
is lost, the broker reconnects with backoff, and every subscriber is told to RESYNC: it sends a
fresh snapshot read after the subscription was back, so nothing published meanwhile is missed.

A connection can die without closing (a half-open TCP connection, a black-holed network): the
broker pings a quiet connection and counts a ping left without its pong as a lost connection.

When its Redis is a node of a Redis Cluster (REDIS_PUBSUB_URL), the broker listens with sharded
pub/sub instead (realtime.sharded_pubsub): a topic's channel is subscribed on its shard while
the process has subscribers for it, and each (re)subscription resyncs that topic's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from realtime.channels import PATTERNS, Topic, channel_of, topic_of
from realtime.cluster_publisher import is_cluster
from realtime.sharded_pubsub import ShardedSubscriber
from server.infra.metrics import REDIS_RECONNECTS

log = logging.getLogger(__name__)

DEFAULT_QUEUE_LIMIT = 256
# A pub/sub connection is quiet when nothing changes; a ping this often notices a dead one.
PING_INTERVAL = 10.0
# A ping unanswered for this long means the connection is gone, whatever TCP says.
PONG_TIMEOUT = 2.0
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0
# Closing a dead connection must not hang either.
CLOSE_TIMEOUT = 2.0
STOP_RETRY = 0.5


class LostConnection(Exception):
    """Redis stopped answering on the pub/sub connection (no pong to a ping)."""


class Resync:
    """Delivered instead of events when a subscriber must re-read everything."""

    def __init__(self, requested_at: float) -> None:
        self.requested_at = requested_at


@dataclass(frozen=True)
class Frames:
    """What the sockets of a topic send for one message: (key, text) pairs, where a socket may
    skip pairs whose key it does not watch (a slot's date outside its range); key None is for
    every socket.

    `parts`, when given, are the items' payloads (one per item, in order) for a receiver that
    sends several items as one frame (realtime.tier's `slots` frames). `published_at` is the
    publisher's wall-clock time, when the message carried it (fan-out latency)."""

    items: tuple[tuple[Any, str], ...]
    parts: tuple[str, ...] = ()
    published_at: float | None = None
    received_at: float = field(default_factory=time.monotonic, compare=False)  # fan-out latency


Delivery = Frames | Resync
# Turns one Redis message of a topic kind into what that topic's sockets send.
Handler = Callable[[Topic, bytes], Awaitable[Delivery | None]]


class Receiver(Protocol):
    """What the broker hands a topic's deliveries to: one socket's Subscription, or a group
    that sends to many sockets at once (realtime.tier.fanout)."""

    @property
    def topic(self) -> Topic: ...

    def deliver(self, item: Delivery) -> None: ...


class SubscriberOverflow(Exception):
    """The subscriber fell too far behind; its socket should close."""


class Subscription:
    """One socket's view of one topic: a bounded queue the broker fills and the socket drains."""

    def __init__(self, broker: Broker, topic: Topic, limit: int) -> None:
        self.topic = topic
        self.created_at = time.monotonic()
        self.overflowed = False
        self._broker = broker
        self._limit = limit
        self._queue: deque[Delivery] = deque()
        self._ready = asyncio.Event()

    def deliver(self, item: Delivery) -> None:
        if self.overflowed:
            return
        if isinstance(item, Resync):
            # A snapshot replaces everything queued before it.
            self._queue.clear()
        elif len(self._queue) >= self._limit:
            self.overflowed = True
            self._queue.clear()
        self._queue.append(item)
        self._ready.set()

    async def next(self) -> Delivery:
        """The next delivery, waiting for one; SubscriberOverflow once the queue overflowed."""
        while not self._queue and not self.overflowed:
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            raise SubscriberOverflow(f"{self.topic} subscriber fell behind")
        return self._queue.popleft()

    def close(self) -> None:
        self._broker.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Broker:
    def __init__(
        self,
        redis: Redis,
        handlers: dict[str, Handler],
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        ping_interval: float = PING_INTERVAL,
        pong_timeout: float = PONG_TIMEOUT,
    ) -> None:
        self._redis = redis
        self._handlers = handlers
        self._queue_limit = queue_limit
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._subscriptions: dict[Topic, set[Receiver]] = {}
        self._task: asyncio.Task[None] | None = None
        # Whether Redis is a cluster node (sharded pub/sub), once known; its subscriber then.
        self._cluster: bool | None = None
        self._sharded: ShardedSubscriber | None = None
        self.subscribed = asyncio.Event()
        self.resyncs = 0

    # --- Sockets ----------------------------------------------------------------------------

    def subscribe(self, topic: Topic) -> Subscription:
        subscription = Subscription(self, topic, self._queue_limit)
        self.attach(subscription)
        return subscription

    def attach(self, receiver: Receiver) -> None:
        """Hand `receiver` every delivery of its topic from now on (until unsubscribed)."""
        if receiver.topic not in self._subscriptions:
            self._first_subscriber(receiver.topic)
        self._subscriptions.setdefault(receiver.topic, set()).add(receiver)

    def unsubscribe(self, receiver: Receiver) -> None:
        subscribers = self._subscriptions.get(receiver.topic)
        if subscribers is None:
            return
        subscribers.discard(receiver)
        if not subscribers:
            del self._subscriptions[receiver.topic]
            self._last_subscriber_left(receiver.topic)

    def subscriber_count(self, topic: Topic | None = None) -> int:
        if topic is not None:
            return len(self._subscriptions.get(topic, ()))
        return sum(len(subscribers) for subscribers in self._subscriptions.values())

    def deliver(self, topic: Topic, item: Delivery) -> None:
        for subscription in tuple(self._subscriptions.get(topic, ())):
            subscription.deliver(item)

    def resync_all(self) -> None:
        marker = Resync(time.monotonic())
        self.resyncs += 1
        for subscribers in tuple(self._subscriptions.values()):
            for subscription in tuple(subscribers):
                subscription.deliver(marker)

    # --- The Redis side ---------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="appointly-broker")

    async def stop(self) -> None:
        if self._task is not None:
            # A read timing out just as the cancel lands can swallow it (redis-py's timeouts
            # turn it into "no message"): cancel again until the task has ended.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait((self._task,), timeout=STOP_RETRY)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            try:
                await self._listen()
            except (RedisError, OSError, TimeoutError, LostConnection) as error:
                log.warning("lost the Redis subscription (%s); reconnecting", error)
                REDIS_RECONNECTS.inc()
            if self.subscribed.is_set():
                backoff = FIRST_BACKOFF  # that connection worked: the next try comes quickly
            self.subscribed.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _listen(self) -> None:
        if self._cluster is None:
            self._cluster = await is_cluster(self._redis)
        if self._cluster:
            await self._listen_sharded()
            return
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(*PATTERNS)
            confirmed = 0
            last_heard = time.monotonic()
            pinged_at: float | None = None  # a ping waiting for its pong
            while True:
                message = await pubsub.get_message(timeout=self._wait(last_heard, pinged_at))
                now = time.monotonic()
                if message is None:
                    if pinged_at is not None and now - pinged_at >= self._pong_timeout:
                        raise LostConnection(f"no pong within {self._pong_timeout:g}s")
                    if pinged_at is None and now - last_heard >= self._ping_interval:
                        await pubsub.ping()
                        pinged_at = now
                    continue
                # Anything Redis says (the pong included) shows the connection is alive.
                last_heard, pinged_at = now, None
                kind = message["type"]
                if kind == "psubscribe":
                    confirmed += 1
                    if confirmed == len(PATTERNS):
                        self._on_subscribed()
                elif kind == "pmessage":
                    await self._dispatch(message["channel"], message["data"])
        finally:
            await _close_quietly(pubsub)

    async def _listen_sharded(self) -> None:
        sharded = ShardedSubscriber(
            self._redis,
            self._dispatch,
            self._on_channel_subscribed,
            ping_interval=self._ping_interval,
            pong_timeout=self._pong_timeout,
        )
        for topic in self._subscriptions:
            sharded.want(channel_of(topic))
        self._sharded = sharded
        try:
            await sharded.run(on_ready=self.subscribed.set)
        finally:
            self._sharded = None

    def _first_subscriber(self, topic: Topic) -> None:
        # Sharded pub/sub has no patterns: a topic is listened to while someone here watches it.
        if self._sharded is not None:
            self._sharded.want(channel_of(topic))

    def _last_subscriber_left(self, topic: Topic) -> None:
        if self._sharded is not None:
            self._sharded.drop(channel_of(topic))

    def _on_channel_subscribed(self, channel: str) -> None:
        # The topic's sockets read their state before this subscription was live (a new topic,
        # or a shard connection made again): they re-read it now that every change reaches them.
        topic = topic_of(channel)
        if topic is not None and topic in self._subscriptions:
            self.resyncs += 1
            self.deliver(topic, Resync(time.monotonic()))

    def _wait(self, last_heard: float, pinged_at: float | None) -> float:
        """How long to wait for a message before pinging, or before giving up on a pong."""
        if pinged_at is None:
            deadline = last_heard + self._ping_interval
        else:
            deadline = pinged_at + self._pong_timeout
        return max(deadline - time.monotonic(), 0.01)

    def _on_subscribed(self) -> None:
        # Whatever was published while we were not listening is lost to us: every socket
        # re-reads its state now that anything newer will reach it.
        self.subscribed.set()
        self.resync_all()

    async def _dispatch(self, raw_channel: bytes | str, data: bytes) -> None:
        channel = raw_channel.decode() if isinstance(raw_channel, bytes) else raw_channel
        topic = topic_of(channel)
        if topic is None or topic not in self._subscriptions:
            return
        handler = self._handlers.get(topic.kind)
        if handler is None:
            return
        heard_at = time.monotonic()  # fan-out latency counts the handler's re-read too
        try:
            delivery = await handler(topic, data)
        except Exception:  # one bad message must not stop the broker for everyone
            log.exception("could not handle a message on %s", channel)
            delivery = Resync(time.monotonic())
        if delivery is not None:
            self.deliver(topic, heard(delivery, heard_at))


def heard(delivery: Delivery, at: float) -> Delivery:
    """Frames stamped with when their message arrived from Redis (for fan-out latency)."""
    return replace(delivery, received_at=at) if isinstance(delivery, Frames) else delivery


async def _close_quietly(pubsub: Any) -> None:
    with contextlib.suppress(RedisError, OSError, TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await pubsub.aclose()


async def pass_through(topic: Topic, data: bytes) -> Delivery:
    """For topics whose messages are already the frames sockets send (provider alerts)."""
    return Frames(((None, data.decode()),))
