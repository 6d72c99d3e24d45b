#!/usr/bin/env bash
# Record the demo video and the README's screenshots into docs/ (scripts/demo.py says how).
# Sets up .venv with the browser tools first, then uses the machine's PostgreSQL and Redis
# (or the embedded ones). Extra arguments go to scripts/demo.py (`--out DIR`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# shellcheck source=scripts/services.sh
source scripts/services.sh
exec .venv/bin/python scripts/demo.py "$@"
