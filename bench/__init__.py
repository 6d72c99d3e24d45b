"""Benchmarks that print the project's figures beside a raw baseline measured in the same run.

- `bench.slots`: 30 days of slots for 1,000 services (the top-up job) vs. a plain COPY.
- `bench.booking`: contended POST /api/bookings (1 and 2 web processes) vs. the bare claim
  transaction in asyncpg.
- `bench.slots_listing`: GET /api/services/{id}/slots vs. the same queries in asyncpg, and
  search over 100,000 services with and without the indexes of sql/0007.
- `bench.fanout`: one booking to 1,000 and 5,000 WebSocket watchers vs. a plain Redis ->
  `websockets` broadcast server, and memory per idle watcher at 10,000.

`scripts/bench.sh` runs them; bench/README.md explains the method and records results.
"""
