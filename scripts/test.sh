#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, format, types, then pytest
# (browser tests included) against the machine's PostgreSQL and Redis, or the embedded ones.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# shellcheck source=scripts/services.sh
source scripts/services.sh

echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy --strict"; .venv/bin/mypy
# Fails on a known-vulnerable installed package; only warns if no advisory service answers.
echo "== pip-audit"; .venv/bin/python scripts/audit_dependencies.py
echo "== pytest"
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "pytest collected no tests" >&2
fi
exit "$status"
