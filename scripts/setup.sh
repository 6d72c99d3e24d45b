#!/usr/bin/env bash
# Create .venv and install Appointly into it. `scripts/setup.sh dev` adds the test tools and
# the browser the browser tests drive. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# A new venv brings the setuptools its Python shipped with (3.11's has a known vulnerability).
.venv/bin/python -m pip install --quiet --upgrade pip "setuptools>=78.1.1"
if [ "${1:-}" = "dev" ]; then
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    scripts/install_browser.sh
    scripts/install_promtool.sh
else
    .venv/bin/python -m pip install --quiet -e .
fi
