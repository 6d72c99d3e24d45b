#!/usr/bin/env bash
# promtool, which checks docs/prometheus/alerts.yml (tests/test_operations_docs.py), taken
# from Debian's `prometheus` package: only the one binary is unpacked into .venv/bin, so no
# Prometheus server is installed or started. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v promtool >/dev/null 2>&1 || [ -x .venv/bin/promtool ]; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "unpacking promtool from Debian's prometheus package"
(cd "$work" && apt-get download -qq prometheus >/dev/null)
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
install -m 0755 "$work/root/usr/bin/promtool" .venv/bin/promtool
