"""Benchmark: searching services at 100,000 services, through the app vs. the same SQL raw.

Run alone with `.venv/bin/python -m bench.search [--services 100000] [--runs 100]`
(`bench.slots_listing` runs it after the slot listing).

SERVICES services from SERVICES / 5 providers are made of realistic words by one
INSERT ... SELECT generate_series per table; a third of the services get four free slots tomorrow
(for `available_on`). For each query of the mix (one word, broad one word, two words, typos,
nothing found, and with filters):
- app: GET /api/services timed RUNS times from one keep-alive client;
- raw: the same SQL statements the app runs (typo correction, candidates, capped count), with
  plain asyncpg, RUNS times, in the same run: app/raw is what the web layer costs;
- before: issue 6's search SQL (every match ranked, then the top 20 taken; no filters but the
  category), RUNS_BEFORE times: before/app is what reading only the best candidates saves.
EXPLAIN (ANALYZE) of the count, candidate and ranking statements is printed for a broad query and
for the one with two filters.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from bench.common import (
    bench_redis_url,
    flush_redis_db,
    machine_note,
    ms,
    percentile,
    scratch_database,
    serving_app,
)
from bench.search_catalog import CATALOG, FREE_SLOTS_TOMORROW, RANK_EVERY_MATCH
from server.domain.search_pages import CANDIDATE_BLOCK
from server.models.search_words import correct_words
from server.models.service_search import (
    TOTAL_CAP,
    WORD_SIMILARITY_THRESHOLD,
    SearchFilters,
    like_pattern,
    prefix_tsquery,
    read_in_index_order,
    read_matches_by_bitmaps,
    search_services,
    set_search_settings,
    substring_pattern,
)
from server.models.service_search_sql import READS_PER_CANDIDATE

SERVICES = 100_000
RUNS = 100
RUNS_BEFORE = 3
PAGE_SIZE = 20
ZONE = "Europe/London"
TARGET_P99_MS = 100.0
# The cases whose statements are printed with EXPLAIN (ANALYZE).
EXPLAINED_KINDS = ("2 words, broad", "filtered twice")


@dataclass(frozen=True)
class Case:
    kind: str
    q: str
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        given = ", ".join(f"{name}={value}" for name, value in self.filters.items())
        return f"{self.q!r}" + (f" ({given})" if given else "")


def the_mix(tomorrow: date) -> tuple[Case, ...]:
    return (
        Case("1 word", "massage"),
        Case("1 word", "physiotherapy"),
        Case("1 word (provider)", "kensington"),
        Case("1 word, broad", "lesson"),
        Case("1 word, broad", "hair"),
        Case("1 word, broad", "class"),
        Case("2 words, broad", "guitar lesson"),
        Case("2 words", "deep tissue"),
        Case("2 words", "beginner yoga"),
        Case("2 words, apart", "friendly coach"),
        Case("typo", "massge"),
        Case("typo", "fysiotherapy"),
        Case("typo, broad", "gitar"),
        Case("typo (provider)", "kensingtn"),
        Case("typo, 2 words", "gitar lesons"),
        Case("nothing", "zzqx"),
        Case("filtered", "massage", {"category": "Wellness"}),
        Case("filtered", "lesson", {"near": "Bristol"}),
        Case("filtered", "massage", {"available_on": tomorrow.isoformat()}),
        # The catalogue's guitar lessons are all in Bristol and none is free tomorrow: these
        # filters reject the text's every best match.
        Case("filtered, best rejected", "guitar lesson", {"near": "Cardiff"}),
        Case("filtered, best rejected", "guitar lesson", {"available_on": tomorrow.isoformat()}),
        Case(
            "filtered twice",
            "guitar lesson",
            {"near": "Cardiff", "available_on": tomorrow.isoformat()},
        ),
        # Every lesson in Bristol is booked tomorrow: nothing passes, which takes checking all.
        Case(
            "filtered twice, none pass",
            "piano lesson",
            {"near": "Bristol", "available_on": tomorrow.isoformat()},
        ),
    )


def local_tomorrow() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date() + timedelta(days=1)


async def seed_catalog(conn: asyncpg.Connection, services: int, tomorrow: date) -> None:
    for statement in CATALOG:
        await conn.execute(statement, services // 5)
    await conn.execute(FREE_SLOTS_TOMORROW, tomorrow, ZONE)
    # Flush the GIN indexes' pending lists and give the planner statistics, as autovacuum would.
    await conn.execute("VACUUM ANALYZE services, providers, appointments, search_words")


# --- The three ways to run one query ------------------------------------------------------------


async def through_app(
    http: httpx.AsyncClient, case: Case, runs: int
) -> tuple[int, bool, list[float]]:
    latencies: list[float] = []
    found: dict[str, Any] = {}
    for _ in range(runs):
        started = time.perf_counter()
        response = await http.get("/api/services", params={"q": case.q, **case.filters})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"search answered {response.status_code}: {response.text}")
        found = response.json()
    return found["total"], found["total_is_estimate"], latencies


def filters_of(case: Case) -> SearchFilters:
    day = case.filters.get("available_on")
    return SearchFilters(
        category=case.filters.get("category"),
        near=case.filters.get("near"),
        available_on=None if day is None else date.fromisoformat(day),
        now=datetime.now(UTC),
    )


async def raw_once(conn: asyncpg.Connection, case: Case) -> int:
    """The statements the app runs for the case (server.models.service_search is plain asyncpg),
    on one connection, without the web layer."""
    page = await search_services(
        conn, query=case.q, filters=filters_of(case), limit=PAGE_SIZE, offset=0
    )
    return page.total


async def timed(runs: int, once: Any) -> list[float]:
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        await once()
        latencies.append(time.perf_counter() - started)
    return latencies


async def before_once(conn: asyncpg.Connection, case: Case) -> None:
    """Issue 6's search: every match ranked; only its category filter existed."""
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
            str(WORD_SIMILARITY_THRESHOLD),
        )
        await conn.fetch(
            RANK_EVERY_MATCH,
            case.q,
            like_pattern(case.q),
            case.filters.get("category"),
            PAGE_SIZE,
            0,
        )


async def explain(conn: asyncpg.Connection, case: Case) -> str:
    """EXPLAIN (ANALYZE) of the statements a broad search runs (capped count, nearest candidates
    of each field, candidates ranked) for the case's text as the typo correction leaves it."""
    text = await correct_words(conn, case.q)
    filters = filters_of(case)
    sql = filters.sql()
    arguments = (text, substring_pattern(text), prefix_tsquery(text), *filters.arguments())
    kept = CANDIDATE_BLOCK
    read = kept * READS_PER_CANDIDATE
    analyze = "EXPLAIN (ANALYZE, COSTS OFF)"
    async with conn.transaction():
        await set_search_settings(conn)
        await read_matches_by_bitmaps(conn)
        count = await conn.fetch(f"{analyze} {sql.count}", *arguments, TOTAL_CAP + 1, 0)
        await read_in_index_order(conn)
        nearest_plan = await conn.fetch(
            f"{analyze} {sql.nearest_candidates}", *arguments, kept, read
        )
        ids, found_in = await conn.fetchrow(sql.nearest_candidates, *arguments, kept, read)
        await read_matches_by_bitmaps(conn)
        ranking = await conn.fetch(
            f"{analyze} {sql.rank_candidates}", *arguments, kept, read, ids, found_in
        )
    lines = [f"-- {case.label} searched as {text!r}: 1. the capped count"]
    lines += [row[0] for row in count]
    lines += ["-- 2. the nearest candidates of each field"] + [row[0] for row in nearest_plan]
    lines += ["-- 3. the candidates ranked"] + [row[0] for row in ranking]
    return "\n".join(lines)


# --- The run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    total: int
    is_estimate: bool
    app: list[float]
    raw: list[float]
    before: list[float] | None


async def measure(
    database_url: str,
    server_url: str,
    *,
    services: int = SERVICES,
    runs: int = RUNS,
    runs_before: int = RUNS_BEFORE,
    cases: Sequence[Case] | None = None,
    explained: Sequence[Case] | None = None,
) -> list[Outcome]:
    """Seed the catalogue into the migrated database at database_url, then time the mix."""
    tomorrow = local_tomorrow()
    mix = the_mix(tomorrow) if cases is None else cases
    conn = await asyncpg.connect(database_url)
    outcomes = []
    try:
        await seed_catalog(conn, services, tomorrow)
        print(machine_note())
        async with httpx.AsyncClient(base_url=server_url, timeout=60) as http:
            for case in mix:
                await http.get("/api/services", params={"q": case.q, **case.filters})  # warm
                total, is_estimate, app = await through_app(http, case, runs)
                raw = await timed(runs, lambda case=case: raw_once(conn, case))
                before = None
                if set(case.filters) <= {"category"} and runs_before:
                    before = await timed(runs_before, lambda case=case: before_once(conn, case))
                outcomes.append(Outcome(case, total, is_estimate, app, raw, before))
        print(machine_note())
        report(services, runs, outcomes)
        for case in mix if explained is None else explained:
            if case.kind in EXPLAINED_KINDS:
                print(await explain(conn, case))
    finally:
        await conn.close()
    return outcomes


def report(services: int, runs: int, outcomes: Sequence[Outcome]) -> None:
    print(
        f"search over {services:,} services: app = GET /api/services ({runs} runs, one client); "
        f"raw = the same SQL with asyncpg ({runs} runs); before = issue 6's SQL (median)"
    )
    print(
        "| kind | query | found | app p50 | app p99 | raw p50 | raw p99 | app/raw p50 "
        "| before | before/app |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for outcome in outcomes:
        app50, app99 = percentile(outcome.app, 0.5), percentile(outcome.app, 0.99)
        raw50, raw99 = percentile(outcome.raw, 0.5), percentile(outcome.raw, 0.99)
        worst = max(worst, app99)
        found = f"{outcome.total:,}{'+' if outcome.is_estimate else ''}"
        if outcome.before is None:
            before, speedup = "—", "—"
        else:
            before50 = percentile(outcome.before, 0.5)
            before, speedup = ms(before50), f"{before50 / app50:.1f}x"
        print(
            f"| {outcome.case.kind} | {outcome.case.label} | {found} | {ms(app50)} | {ms(app99)} | "
            f"{ms(raw50)} | {ms(raw99)} | {app50 / raw50:.2f} | {before} | {speedup} |"
        )
    verdict = "met" if worst * 1000 <= TARGET_P99_MS else "MISSED"
    print(
        f"target: every query p99 <= {TARGET_P99_MS:.0f} ms through the app: {verdict} "
        f"(worst {ms(worst)})"
    )


async def run(**options: Any) -> list[Outcome]:
    redis_url = bench_redis_url()
    await flush_redis_db(redis_url)
    async with (
        scratch_database("search") as database_url,
        serving_app(database_url, redis_url) as server,
    ):
        outcomes = await measure(database_url, server.url, **options)
    await flush_redis_db(redis_url)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=SERVICES)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    asyncio.run(run(services=args.services, runs=args.runs))


if __name__ == "__main__":
    main()
