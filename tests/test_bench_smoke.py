"""The benchmarks run, in tiny configurations, against the real app served by Hypercorn in a
subprocess (as `appointly serve` runs it) on this run's database and Redis database index. No
timing is asserted (the machine is shared); only that each completes and nothing is double
booked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench import booking, fanout, pubsub_cluster, slots_listing, soak
from bench.common import ServerProcess, serving_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def bench_server(database_url: str, redis_url: str) -> AsyncIterator[ServerProcess]:
    async with serving_app(database_url, redis_url) as server:
        yield server


async def test_contended_booking_benchmark_runs_without_double_bookings(
    database_url: str, bench_server: ServerProcess
) -> None:
    result = await booking.measure(database_url, bench_server, clients=8, slots=40)
    assert sum(result.app.wins.values()) == 40
    assert sum(result.raw.wins.values()) == 40
    assert result.app_doubles == 0
    assert result.raw_doubles == 0
    assert result.app.errors == 0


async def test_slot_listing_and_search_benchmark_runs_the_whole_mix(
    database_url: str, bench_server: ServerProcess
) -> None:
    outcome = await slots_listing.measure(
        database_url,
        bench_server.url,
        clients=4,
        requests=40,
        services=2_000,
        runs=2,
        runs_before=1,
        cases=None,
    )
    app_listing, raw_listing = outcome["listing"]
    assert len(app_listing[1]) == len(raw_listing[1]) == 40
    found = {result.case.q: result for result in outcome["searches"] if not result.case.filters}
    assert set(found) >= {"massage", "massge", "guitar lesson", "zzqx"}
    assert found["massge"].total == found["massage"].total > 0
    assert found["zzqx"].total == 0
    assert all(len(result.app) == len(result.raw) == 2 for result in found.values())


async def test_fanout_benchmark_reaches_every_watcher_of_the_tier_the_asgi_path_and_raw_server(
    database_url: str, redis_url: str, bench_server: ServerProcess
) -> None:
    plan = fanout.Plan(sizes=(20,), idle=0, bookings=2, processes=1)
    outcomes = await fanout.measure(database_url, bench_server, redis_url, plan)
    assert set(outcomes) == {"raw", "tier", "asgi"}
    for outcome in outcomes.values():
        assert [len(stage.latencies) for stage in outcome.stages] == [2]


async def test_soak_runs_mixed_traffic_on_two_servers_and_a_worker_and_audits_it(
    database_url: str, redis_url: str
) -> None:
    result = await soak.run(
        0.1, customers=2, watchers=2, database_url=database_url, redis_url=redis_url
    )
    assert result.requests > 0
    assert result.stats.errors == {}
    assert set(result.memory) == {"serve-1", "serve-2", "worker"}
    audit = result.audit
    assert audit["overlapping bookings (SQL)"] == audit["slots won by two clients"] == 0
    assert audit["watchers checked"] == 2
    assert audit["watchers whose view differs from a fresh snapshot"] == 0
    assert audit["lost e-mails"] == audit["duplicated e-mails"] == audit["unknown e-mails"] == 0


async def test_pubsub_cluster_benchmark_delivers_every_message_both_ways() -> None:
    runs = await pubsub_cluster.run(messages=2_000, subscribers=2)
    assert [run.command for run in runs] == ["PUBLISH", "SPUBLISH"]
    assert [run.received for run in runs] == [4_000, 4_000]
