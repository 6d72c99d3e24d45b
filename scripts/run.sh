#!/usr/bin/env bash
# Set everything up and run Appointly (web + worker) with demo data, on the embedded
# PostgreSQL and Redis kept in ./.appointly. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unset DATABASE_URL REDIS_URL
.venv/bin/appointly seed-demo
exec .venv/bin/appointly run "$@"
