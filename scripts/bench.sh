#!/usr/bin/env bash
# Run every benchmark at full size, one after another (each is heavy: run them on a quiet
# machine). Each prints the project's figures beside a raw baseline measured in the same run.
#   scripts/bench.sh                 # all of them
#   scripts/bench.sh booking fanout  # some of them (booking, slots_listing, fanout, stats, slots)
# The app runs as `appointly serve` does, against scratch databases on DATABASE_URL (dropped
# afterwards) and Redis database BENCH_REDIS_DB (default 15) on REDIS_URL; server logs go to
# BENCH_LOG_DIR (default /tmp/appointly-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
# The fan-out benchmark holds 10,000 sockets in one server process (and as many client ends).
ulimit -n "$(ulimit -Hn)"
benchmarks=("$@")
if [ ${#benchmarks[@]} -eq 0 ]; then
    benchmarks=(booking slots_listing fanout stats)
fi
for name in "${benchmarks[@]}"; do
    echo "=== bench.${name} ($(date -u +%H:%M:%S) UTC)"
    .venv/bin/python -m "bench.${name}"
done
