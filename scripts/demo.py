"""Record the demo: a fresh Appointly with demo data, driven through its main journey in Chromium.

    scripts/demo.sh                     # or: .venv/bin/python scripts/demo.py
    scripts/demo.sh --out /tmp/shots    # somewhere other than docs/

Starts its own Appointly as an operator would (`appointly seed-demo`, then `appointly serve` and
`appointly worker` as subprocesses) against a scratch database (created on DATABASE_URL's server,
else on an embedded PostgreSQL under .appointly-demo, and dropped afterwards) and a Redis database
index of its own (DEMO_REDIS_DB, default 14). Then scripts/demo_journey.py drives Debian's
Chromium through the journey, and this script turns the two recorded views (customer, provider)
into one side-by-side docs/demo.webm and shrinks the screenshots with ffmpeg.

Exits non-zero when any step fails; logs of the app's processes are kept in DEMO_LOG_DIR
(default /tmp/appointly-demo).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from demo_browser import JourneyError, Recording
from demo_journey import run_journey
from redis.asyncio import Redis

REPOSITORY = Path(__file__).resolve().parent.parent
EMBEDDED_DIR = REPOSITORY / ".appointly-demo"
LOG_DIR = Path(os.environ.get("DEMO_LOG_DIR", "/tmp/appointly-demo"))  # noqa: S108
START_SECONDS = 90
STOP_SECONDS = 20
# Each half of the side-by-side video: the recorded 1280x800 pages at three quarters size.
HALF_WIDTH, HALF_HEIGHT = 960, 600
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


# --- Where the demo's data lives ----------------------------------------------------------------


def with_path(url: str, path: str) -> str:
    """The same server URL pointing at another database (PostgreSQL name or Redis index)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{path}", parts.query, parts.fragment))


def admin_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from server.infra.embedded import embedded_database_url

    return embedded_database_url(EMBEDDED_DIR)


def demo_redis_url() -> str:
    """REDIS_URL at database index DEMO_REDIS_DB, else the demo's own embedded Redis."""
    base = os.environ.get("REDIS_URL")
    if not base:
        from server.infra.embedded import embedded_redis_url

        return embedded_redis_url(EMBEDDED_DIR)  # a unix socket of the demo's own
    return with_path(base, os.environ.get("DEMO_REDIS_DB") or "14")


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A new, empty database for this run, dropped when the block ends."""
    admin_url = await asyncio.to_thread(admin_database_url)
    name = f"appointly_demo_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield with_path(admin_url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def own_redis_database() -> AsyncIterator[str]:
    """The demo's Redis database index, emptied before and after (never any other index)."""
    url = await asyncio.to_thread(demo_redis_url)
    client = Redis.from_url(url)
    try:
        await client.flushdb()
        yield url
    finally:
        await client.flushdb()
        await client.aclose()


# --- The app, run the way an operator runs it ---------------------------------------------------


@dataclass
class AppProcess:
    name: str
    process: asyncio.subprocess.Process
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_command(name: str, args: Sequence[str], env: dict[str, str]) -> AppProcess:
    log = LOG_DIR / f"{name}.log"
    with log.open("wb") as handle:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            *args,
            env=env,
            cwd=REPOSITORY,
            stdout=handle,
            stderr=asyncio.subprocess.STDOUT,
        )
    return AppProcess(name, process, log)


async def stop_command(app: AppProcess) -> None:
    if app.process.returncode is not None:
        return
    app.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(app.process.wait(), STOP_SECONDS)
    except TimeoutError:
        print(f"demo: {app.name} did not stop within {STOP_SECONDS} s; killing it", flush=True)
        app.process.kill()
        await app.process.wait()


async def seed_demo_data(env: dict[str, str]) -> None:
    """`appointly seed-demo`: migrates the scratch database, then loads the demo data."""
    seed = await start_command("seed-demo", ["seed-demo"], env)
    async with asyncio.timeout(START_SECONDS):
        status = await seed.process.wait()
    if status != 0:
        raise JourneyError(f"appointly seed-demo failed (exit {status}); see {seed.log}")


async def wait_until_healthy(url: str, apps: Sequence[AppProcess]) -> None:
    async with asyncio.timeout(START_SECONDS), httpx.AsyncClient(base_url=url) as http:
        while True:
            for app in apps:
                if app.process.returncode is not None:
                    raise JourneyError(f"appointly {app.name} exited early; see {app.log}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_appointly(database_url: str, redis_url: str) -> AsyncIterator[str]:
    """Seeded Appointly (web + worker) on a free port; its base URL. Stopped at the end."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BASE_URL": base_url,
        "APP_ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(32),
    }
    for name in ("SMTP_HOST", "STRIPE_SECRET_KEY", "GOOGLE_CLIENT_ID", "TWILIO_ACCOUNT_SID"):
        env.pop(name, None)  # nothing leaves the machine: mail is logged, bookings pay at visit
    await seed_demo_data(env)
    apps = [
        await start_command("serve", ["serve", "--bind", f"127.0.0.1:{port}"], env),
        await start_command("worker", ["worker"], env),
    ]
    try:
        await wait_until_healthy(base_url, apps)
        yield base_url
    finally:
        for app in reversed(apps):
            await stop_command(app)


# --- Media ----------------------------------------------------------------------------------------


def ffmpeg(*args: str) -> None:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise JourneyError(f"ffmpeg failed: {result.stderr.strip()}")


def label(text: str) -> str:
    if not FONT.exists():
        return "null"
    return (
        f"drawtext=fontfile={FONT}:text='{text}':x=16:y=h-th-16:fontsize=22:fontcolor=white:"
        "box=1:boxcolor=0x312e81@0.85:boxborderw=10"
    )


def compose_video(recording: Recording, target: Path) -> None:
    """Customer on the left, provider on the right, as one small VP9 file."""
    half = f"scale={HALF_WIDTH}:{HALF_HEIGHT}:flags=lanczos,setsar=1"
    graph = (
        f"[0:v]{half},{label('Customer')}[left];"
        f"[1:v]{half},{label('Provider')}[right];"
        "[left][right]hstack=inputs=2:shortest=1,fps=15[out]"
    )
    ffmpeg(
        *("-i", str(recording.customer_video), "-i", str(recording.provider_video)),
        *("-filter_complex", graph, "-map", "[out]", "-an"),
        *("-c:v", "libvpx-vp9", "-crf", "40", "-b:v", "0", "-row-mt", "1", "-deadline", "good"),
        *("-cpu-used", "4", str(target)),
    )


def shrink_png(path: Path) -> None:
    """Re-encode a screenshot with a 256-colour palette: UI screenshots stay crisp at a third."""
    smaller = path.with_suffix(".small.png")
    palette = "[0:v]split[a][b];[a]palettegen=max_colors=256[p];[b][p]paletteuse=dither=none"
    ffmpeg("-i", str(path), "-filter_complex", palette, "-pred", "mixed", str(smaller))
    if smaller.stat().st_size < path.stat().st_size:
        smaller.replace(path)
    else:
        smaller.unlink()


# --- Putting it together --------------------------------------------------------------------------


def uses_embedded() -> bool:
    return not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


async def record_demo(out_dir: Path) -> None:
    from server.infra.embedded import stop_embedded_if_unused, use_embedded

    if uses_embedded():
        use_embedded(EMBEDDED_DIR)  # so we stop the embedded servers at the end, if unused
    try:
        await _record(out_dir)
    finally:
        await asyncio.to_thread(stop_embedded_if_unused, EMBEDDED_DIR)


async def _record(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="appointly-demo-") as scratch:
        async with (
            scratch_database() as database_url,
            own_redis_database() as redis_url,
            running_appointly(database_url, redis_url) as base_url,
        ):
            print(f"demo: Appointly with demo data at {base_url}", flush=True)
            recording = await run_journey(base_url, out_dir, Path(scratch))
        compose_video(recording, out_dir / "demo.webm")
    for shot in recording.screenshots:
        shrink_png(shot)
    if recording.problems:
        raise JourneyError("the pages logged errors:\n  " + "\n  ".join(recording.problems))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs", help="default: docs/")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(record_demo(args.out))
    except (JourneyError, OSError, asyncpg.PostgresError, TimeoutError) as error:
        print(f"demo: FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    for path in [*sorted(args.out.glob("*.png")), args.out / "demo.webm"]:
        print(f"demo: {path} ({path.stat().st_size // 1024} KB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
