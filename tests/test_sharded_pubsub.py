"""Real time on a Redis Cluster (REDIS_PUBSUB_URL pointing at a node): changes go out with
SPUBLISH to the shard owning their channel, each process subscribes with SSUBSCRIBE per shard
to the channels its sockets watch, and a lost shard connection resyncs only its own topics.
Against a local three-master cluster the test starts (tests/support/redis_cluster.py); and a
REDIS_PUBSUB_URL at a plain Redis of its own keeps the pattern subscription there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from redis.asyncio import Redis
from redis.crc import key_slot
from websockets.asyncio.client import connect

from realtime.broker import Broker, Frames, Resync, Subscription, pass_through
from realtime.channels import PATTERNS, Topic, appointments_topic, channel_of, slots_topic
from realtime.cluster_publisher import ClusterAwarePublisher, is_cluster
from server.infra.config import Config
from server.infra.redis_clients import redis_options
from tests.conftest import StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.private_redis import private_redis
from tests.support.redis_cluster import ClusterNode, LocalCluster, redis_cluster
from tests.support.sockets import session_cookie_header, watch_slots, ws_url

pytestmark = pytest.mark.slow

HANDLERS = {"appointments": pass_through, "slots": pass_through}


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[LocalCluster]:
    async with redis_cluster(tmp_path / "cluster") as running:
        yield running


@pytest.fixture
async def cluster_publisher(cluster: LocalCluster) -> AsyncIterator[ClusterAwarePublisher]:
    publisher = ClusterAwarePublisher(cluster.url, redis_options(cluster.url, Config()))
    yield publisher
    await publisher.aclose()


@pytest.fixture
async def cluster_broker(cluster: LocalCluster) -> AsyncIterator[Broker]:
    redis = Redis.from_url(cluster.url, **redis_options(cluster.url, Config()))
    broker = Broker(redis, HANDLERS, ping_interval=0.5, pong_timeout=1.0)
    broker.start()
    await asyncio.wait_for(broker.subscribed.wait(), 10)
    yield broker
    await broker.stop()
    await redis.aclose()


async def topics_on_every_node(cluster: LocalCluster) -> dict[int, Topic]:
    """One provider topic per node of the cluster (node port -> topic)."""
    found: dict[int, Topic] = {}
    async with asyncio.timeout(10):
        while len(found) < len(cluster.nodes):
            topic = appointments_topic(uuid4())
            node = await cluster.node_of(channel_of(topic))
            found.setdefault(node.port, topic)
    return found


async def next_delivery(subscription: Subscription, timeout: float = 10) -> Frames | Resync:
    async with asyncio.timeout(timeout):
        return await subscription.next()


async def shard_subscribers(node: ClusterNode, channel: str) -> int:
    client = Redis.from_url(node.url)
    try:
        reply = await client.execute_command("PUBSUB", "SHARDNUMSUB", channel)
    finally:
        await client.aclose()
    return int(reply[1])


async def wait_for_shard_subscribers(node: ClusterNode, channel: str, count: int) -> None:
    async with asyncio.timeout(10):
        while await shard_subscribers(node, channel) != count:
            await asyncio.sleep(0.05)


async def test_the_cluster_is_detected_and_a_plain_redis_is_not(
    cluster: LocalCluster, redis_client: Redis
) -> None:
    node = Redis.from_url(cluster.url)
    try:
        assert await is_cluster(node)
    finally:
        await node.aclose()
    assert not await is_cluster(redis_client)


async def test_a_change_published_on_any_shard_reaches_the_subscribers_of_its_topic(
    cluster: LocalCluster, cluster_broker: Broker, cluster_publisher: ClusterAwarePublisher
) -> None:
    topics = await topics_on_every_node(cluster)
    subscriptions = {port: cluster_broker.subscribe(topic) for port, topic in topics.items()}
    for subscription in subscriptions.values():
        # The subscription is live only once the shard confirmed it: then the socket resyncs.
        assert isinstance(await next_delivery(subscription), Resync)
    for port, topic in topics.items():
        await cluster_publisher.publish(channel_of(topic), f'{{"to":{port}}}'.encode())
    for port, subscription in subscriptions.items():
        delivery = await next_delivery(subscription)
        assert isinstance(delivery, Frames)
        assert delivery.items == ((None, f'{{"to":{port}}}'),)
    # Exactly one process-wide subscription per channel, on the shard that owns it.
    for port, topic in topics.items():
        node = next(node for node in cluster.nodes if node.port == port)
        assert await shard_subscribers(node, channel_of(topic)) == 1


async def test_the_last_subscriber_leaving_unsubscribes_the_channel_on_its_shard(
    cluster: LocalCluster, cluster_broker: Broker
) -> None:
    topic = appointments_topic(uuid4())
    node = await cluster.node_of(channel_of(topic))
    first = cluster_broker.subscribe(topic)
    second = cluster_broker.subscribe(topic)
    await wait_for_shard_subscribers(node, channel_of(topic), 1)
    first.close()
    assert await shard_subscribers(node, channel_of(topic)) == 1  # someone still watches
    second.close()
    await wait_for_shard_subscribers(node, channel_of(topic), 0)
    again = cluster_broker.subscribe(topic)
    assert isinstance(await next_delivery(again), Resync)
    assert await shard_subscribers(node, channel_of(topic)) == 1
    again.close()


async def test_a_channel_whose_slot_moves_to_another_shard_is_followed_there(
    cluster: LocalCluster, cluster_broker: Broker, cluster_publisher: ClusterAwarePublisher
) -> None:
    """Resharding: the old owner unsubscribes the slot's channels itself; the broker subscribes
    them on the new owner (after a MOVED) and resyncs them, and the other channels of the old
    owner's connection are not disturbed."""
    moving = appointments_topic(uuid4())
    source = await cluster.node_of(channel_of(moving))
    staying = appointments_topic(uuid4())
    while await cluster.node_of(channel_of(staying)) is not source or key_slot(
        channel_of(staying).encode()
    ) == key_slot(channel_of(moving).encode()):
        staying = appointments_topic(uuid4())
    target = next(node for node in cluster.nodes if node is not source)
    moved = cluster_broker.subscribe(moving)
    undisturbed = cluster_broker.subscribe(staying)
    for subscription in (moved, undisturbed):
        assert isinstance(await next_delivery(subscription), Resync)

    await cluster.move_slot(key_slot(channel_of(moving).encode()), source, target)

    assert isinstance(await next_delivery(moved, timeout=20), Resync)
    await wait_for_shard_subscribers(target, channel_of(moving), 1)
    for topic in (moving, staying):
        await cluster_publisher.publish(channel_of(topic), b'"after the move"')
    for subscription in (moved, undisturbed):
        delivery = await next_delivery(subscription)
        # No resync for the channel that stayed: its shard connection was kept.
        assert isinstance(delivery, Frames), delivery
        assert delivery.items == ((None, '"after the move"'),)


async def test_a_lost_shard_connection_resubscribes_and_resyncs_only_its_topics(
    cluster: LocalCluster, cluster_broker: Broker, cluster_publisher: ClusterAwarePublisher
) -> None:
    topics = await topics_on_every_node(cluster)
    subscriptions = {port: cluster_broker.subscribe(topic) for port, topic in topics.items()}
    for subscription in subscriptions.values():
        assert isinstance(await next_delivery(subscription), Resync)
    lost = cluster.nodes[0]
    killer = Redis.from_url(lost.url)
    try:
        assert await killer.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    finally:
        await killer.aclose()
    # Its sockets re-read their state once the shard has them subscribed again...
    assert isinstance(await next_delivery(subscriptions[lost.port]), Resync)
    # ...and from then on hear every change, like the others, which never noticed.
    for topic in topics.values():
        await cluster_publisher.publish(channel_of(topic), b'"after"')
    for subscription in subscriptions.values():
        delivery = await next_delivery(subscription)
        assert isinstance(delivery, Frames), delivery
        assert delivery.items == ((None, '"after"'),)


async def test_a_restarted_shard_node_is_subscribed_again_with_a_resync(
    cluster: LocalCluster, cluster_broker: Broker, cluster_publisher: ClusterAwarePublisher
) -> None:
    topics = await topics_on_every_node(cluster)
    restarted = cluster.nodes[1]
    subscription = cluster_broker.subscribe(topics[restarted.port])
    assert isinstance(await next_delivery(subscription), Resync)
    await restarted.stop()
    await restarted.start()  # same port and nodes.conf: it owns the same slots again
    await cluster.wait_until_ok()
    assert isinstance(await next_delivery(subscription, timeout=20), Resync)
    await cluster_publisher.publish(channel_of(topics[restarted.port]), b'"back"')
    delivery = await next_delivery(subscription)
    assert isinstance(delivery, Frames)
    assert delivery.items == ((None, '"back"'),)


async def test_the_app_on_a_cluster_tells_watchers_and_the_provider_of_a_booking(
    cluster: LocalCluster, start_app: StartApp
) -> None:
    """REDIS_PUBSUB_URL at a cluster node; arq and the rate limits keep the plain REDIS_URL."""
    live = await start_app(redis_pubsub_url=cluster.url)
    day = tomorrow()
    try:
        async with AsyncExitStack() as stack:
            provider = await stack.enter_async_context(live.client())
            guest = await stack.enter_async_context(live.client())
            await make_provider(provider)
            # Services until their slot channels are on every shard.
            services, shards = [], set()
            while len(shards) < len(cluster.nodes):
                service = await create_service(provider, name=f"Room {len(services)}")
                services.append(service)
                node = await cluster.node_of(channel_of(slots_topic(service["id"])))
                shards.add(node.port)
            slots = [(await free_slots(guest, s["id"], day))[0] for s in services]
            alerts = await stack.enter_async_context(
                connect(
                    ws_url(live.url, "/ws/provider"),
                    additional_headers=session_cookie_header(provider),
                )
            )
            watchers = [
                await stack.enter_async_context(watch_slots(live.url, s["id"], day))
                for s in services
            ]
            for slot in slots:
                assert (await book(guest, slot["id"])).status_code == 201
            for watcher, slot in zip(watchers, slots, strict=True):
                await watcher.wait_for_view(
                    lambda view, start=slot["start_time"]: not view[start]["available"],
                    timeout=10,
                )
            booked = set()
            async with asyncio.timeout(10):
                while len(booked) < len(slots):
                    frame = orjson.loads(await alerts.recv())
                    if frame["type"] == "appointment":  # a resync comes first on a new topic
                        booked.add(frame["appointment"]["id"])
            assert booked == {slot["id"] for slot in slots}
    finally:
        await live.server.stop()


async def test_a_separate_plain_pubsub_redis_carries_the_changes(
    start_app: StartApp, tmp_path: Path
) -> None:
    """REDIS_PUBSUB_URL at a plain Redis of its own: PUBLISH and the pattern subscription go
    there, and the job queue stays on REDIS_URL."""
    async with private_redis(tmp_path) as pubsub:
        live = await start_app(redis_pubsub_url=pubsub.url)
        try:
            watching = Redis.from_url(pubsub.url)
            try:
                async with asyncio.timeout(10):  # the broker's patterns, on the separate Redis
                    while await watching.execute_command("PUBSUB", "NUMPAT") < len(PATTERNS):
                        await asyncio.sleep(0.05)
            finally:
                await watching.aclose()
            async with live.client() as provider:
                await make_provider(provider)
                service = await create_service(provider)
                day = tomorrow()
                slot = (await free_slots(provider, service["id"], day))[0]
                async with watch_slots(live.url, service["id"], day) as watcher:
                    assert (await book(provider, slot["id"])).status_code == 201
                    await watcher.wait_for_view(
                        lambda view: not view[slot["start_time"]]["available"], timeout=10
                    )
        finally:
            await live.server.stop()
