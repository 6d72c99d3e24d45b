"""The `appointly` command: migrate, serve, worker, sockets, run, seed-demo, run-job."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import NoReturn
from urllib.parse import urlsplit

import asyncpg

# Nothing imported here may import prometheus_client (jobs, server.app, ... are imported where
# used): main() chooses the metrics folder first (tests/test_metrics.py checks).
from server.edge.metrics_listener import metrics_bind
from server.infra.child_processes import start_child, stop_child
from server.infra.config import Config, ConfigError, data_dir_setting, load_config
from server.infra.dev_secret import persisted_secret_key
from server.infra.embedded import stop_embedded_if_unused
from server.infra.logs import configure_logging
from server.infra.metrics_dir import use_metrics_dir
from server.infra.migrations import MigrationError, migrate
from server.infra.paths import HYPERCORN_TOML
from server.infra.runtime import resolve_services, uses_embedded
from server.infra.startup_heap import freeze_after_startup, freeze_startup_objects

log = logging.getLogger("appointly")

# How long `appointly run` gives the worker to finish its jobs after Ctrl-C before killing it.
WORKER_STOP_SECONDS = 15
EXIT_INTERRUPTED = 130
# How long `appointly worker` waits before starting again after losing Redis.
WORKER_RESTART_SECONDS = 1.0


class CommandError(RuntimeError):
    """A failure the operator can act on; shown as one line, without a traceback."""


def main(argv: Sequence[str] | None = None) -> None:
    use_metrics_dir(data_dir_setting())  # first: before anything imports prometheus_client
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as error:
        parser.exit(2, f"appointly: configuration error: {error}\n")
    configure_logging(config.log_format)
    if not (os.environ.get("SECRET_KEY") or "").strip():
        # (Production never gets here: it refuses to start without SECRET_KEY.)
        config = _development_secret_key(config)
    try:
        status = args.handler(config, args)
    except MigrationError as error:
        parser.exit(1, f"appointly: migration failed: {error}\n")
    except (CommandError, OSError, asyncpg.PostgresError) as error:
        parser.exit(1, f"appointly: {error}\n")
    except KeyboardInterrupt:
        _exit_quietly(EXIT_INTERRUPTED)
    if status:
        _exit_quietly(int(status))


def _development_secret_key(config: Config) -> Config:
    """Without SECRET_KEY: the key kept in the data folder when the embedded servers keep their
    data there too (the one-command start), so a restart signs nobody out; with both service
    URLs set the data folder stays untouched, and the key lasts as long as the process."""
    if uses_embedded(config):
        return config.with_changes(secret_key=persisted_secret_key(config.data_dir))
    log.warning(
        "SECRET_KEY is not set: sessions, calendar feed links and stored calendar and webhook "
        "secrets last until this process stops; set SECRET_KEY to keep them"
    )
    return config


def _exit_quietly(status: int) -> NoReturn:
    sys.stdout.flush()
    raise SystemExit(status)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appointly", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending SQL migrations").set_defaults(
        handler=cmd_migrate
    )
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--bind", help="HOST:PORT (overrides hypercorn.toml)")
    serve.add_argument(
        "--metrics-bind", type=metrics_bind, help="HOST:PORT answering only /metrics, token-free"
    )
    _add_workers_arguments(serve)
    serve.set_defaults(handler=cmd_serve)
    commands.add_parser("worker", help="run the arq worker").set_defaults(handler=cmd_worker)
    sockets = commands.add_parser("sockets", help="run the socket tier (live WebSockets)")
    sockets.add_argument("--bind", help="HOST:PORT (default SOCKETS_BIND, else HTTP port + 1)")
    sockets.set_defaults(handler=cmd_sockets)
    run = commands.add_parser("run", help="migrate, then web and worker in the foreground")
    run.add_argument("--bind", help="HOST:PORT (overrides hypercorn.toml)")
    run.add_argument(
        "--metrics-bind", type=metrics_bind, help="HOST:PORT answering only /metrics, token-free"
    )
    run.set_defaults(handler=cmd_run)
    commands.add_parser("seed-demo", help="create demo data (idempotent)").set_defaults(
        handler=cmd_seed_demo
    )
    from jobs.periodic import PERIODIC_JOBS

    run_job = commands.add_parser("run-job", help="run one periodic job once now")
    run_job.add_argument("name", choices=tuple(PERIODIC_JOBS))
    run_job.set_defaults(handler=cmd_run_job)
    return parser


def _database_url(config: Config) -> str:
    if not config.database_url:
        raise CommandError("DATABASE_URL could not be resolved")
    return config.database_url


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    config = resolve_services(config)
    applied = asyncio.run(migrate(_database_url(config)))
    print("applied: " + ", ".join(applied) if applied else "nothing to apply", flush=True)
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    config = _with_bind_origin(resolve_services(config), args.bind)
    config = config.with_changes(metrics_bind=args.metrics_bind)
    workers = _web_processes(args)
    if workers > 1:
        from server.infra.web_processes import serve_in_processes

        http_bind = _hypercorn_bind(args.bind)
        config, tier_bind = _socket_tier_beside(config, http_bind)
        return serve_in_processes(config, http_bind, workers, tier_bind)
    return asyncio.run(_serve(config, args.bind, start_worker=False, reuse_port=args.reuse_port))


# --- Several web processes (`serve --workers N`, server/infra/web_processes.py) -------------


def _add_workers_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workers",
        type=int,
        help="web processes on that address (default: `workers` in hypercorn.toml)",
    )
    # How `serve --workers N` starts each of its processes: bind with SO_REUSEPORT.
    command.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


def _hypercorn_settings() -> object:
    from hypercorn.config import Config as HypercornConfig

    return HypercornConfig.from_toml(str(HYPERCORN_TOML))


def _web_processes(args: argparse.Namespace) -> int:
    """How many web processes to run: `--workers`, else hypercorn.toml's `workers`."""
    workers = args.workers
    if workers is None:
        workers = int(getattr(_hypercorn_settings(), "workers", 1) or 1)
    if workers < 1:
        raise CommandError("--workers must be at least 1")
    return int(workers)


def _hypercorn_bind(bind: str | None) -> str:
    """The one HOST:PORT several processes share: `--bind`, else hypercorn.toml's first."""
    if bind is not None:
        return bind
    binds: list[str] = getattr(_hypercorn_settings(), "bind", [])
    if not binds or binds[0].startswith(("unix:", "fd://")):
        raise CommandError("--workers needs a HOST:PORT to bind (give --bind)")
    return binds[0]


def _with_bind_origin(config: Config, bind: str | None) -> Config:
    """Without BASE_URL, links and the Origin check follow `--bind`: a laptop trying another
    port gets links that work. Any BASE_URL that is set wins."""
    if bind is None or "BASE_URL" in os.environ:
        return config
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or host.startswith("unix"):
        return config
    if host in ("", "0.0.0.0", "[::]"):  # the wildcard: name this machine instead
        host = "127.0.0.1"
    return config.with_changes(base_url=f"http://{host}:{port}")


def cmd_worker(config: Config, args: argparse.Namespace) -> int:
    from arq.worker import create_worker
    from redis.exceptions import RedisError

    from jobs.worker import worker_settings
    from jobs.worker_stop import CertainStop

    config = resolve_services(config)
    freeze_startup_objects()
    while True:
        # arq installs its own SIGINT/SIGTERM handlers: they cancel the jobs, close the pools
        # and return; CertainStop makes sure a lost cancellation does not keep it polling.
        worker = create_worker(worker_settings(config))
        stop = CertainStop(worker)
        try:
            worker.run()
            return 0
        except (RedisError, OSError, TimeoutError) as error:
            if stop.requested:
                return 0
            # arq's poll loop lets a Redis error end the worker (a read slower than the timeout
            # on a loaded machine, a Redis restart); jobs are in Redis and re-read, so start over.
            log.warning("the worker lost Redis (%s); starting again", error)
            time.sleep(WORKER_RESTART_SECONDS)


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    config = _with_bind_origin(resolve_services(config), args.bind)
    config = config.with_changes(metrics_bind=args.metrics_bind)
    try:
        applied = asyncio.run(migrate(_database_url(config)))
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        return asyncio.run(_serve(config, args.bind, start_worker=True))
    finally:
        # The web server and the worker have stopped by now: nothing of ours still needs the
        # embedded servers (a no-op when this process never used them).
        stop_embedded_if_unused(config.data_dir)


async def _serve(
    config: Config, bind: str | None, *, start_worker: bool, reuse_port: bool = False
) -> int:
    """Serve the web app until SIGINT/SIGTERM (or until the worker, if any, dies).

    With `reuse_port` (one of `serve --workers N`'s processes) the address is bound with
    SO_REUSEPORT beside the other processes'."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    from server.app import create_app

    hypercorn_config = HypercornConfig.from_toml(str(HYPERCORN_TOML))
    if bind:
        hypercorn_config.bind = [bind]
    address = ", ".join(hypercorn_config.bind)
    # (`serve --workers N` gives its processes SOCKETS_BIND=off: it runs the one tier itself.)
    config, tier_bind = _socket_tier_beside(config, hypercorn_config.bind[0])
    if reuse_port:
        from server.infra.web_processes import reuse_port_socket

        # Hypercorn serves the socket through its descriptor (and closes it at the end).
        descriptor = reuse_port_socket(hypercorn_config.bind[0]).detach()
        hypercorn_config.bind = [f"fd://{descriptor}"]
    if config.metrics_bind:
        hypercorn_config.bind = [*hypercorn_config.bind, config.metrics_bind]
    # Hypercorn's lines go through our handler (LOG_FORMAT). Its access log stays off: it
    # prints raw paths and query strings (secrets); server/edge/request_context.py logs access.
    hypercorn_config.errorlog = logging.getLogger("hypercorn.error")
    hypercorn_config.accesslog = None
    stop = _stop_on_signals()
    tier = await _start_socket_tier(config, tier_bind) if tier_bind else None
    worker = await _start_worker(config) if start_worker else None
    watcher = asyncio.create_task(_watch_worker(worker, stop)) if worker else None
    log.info("serving Appointly on %s (process %d)", address, os.getpid())
    crashed: int | None = None
    try:
        app = create_app(config)
        app.before_serving(freeze_after_startup)
        await serve(app, hypercorn_config, shutdown_trigger=stop.wait, mode="asgi")
    finally:
        stop.set()
        if tier is not None:
            await _stop_socket_tier(tier)
        if worker is not None and watcher is not None:
            crashed = await watcher
            await _stop_worker(worker)
    if crashed is not None:
        log.error("the worker stopped unexpectedly (exit code %s)", crashed)
        return 1
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _start_worker(config: Config) -> asyncio.subprocess.Process:
    # The worker gets the resolved URLs, so both processes share the same (embedded) servers.
    env = {**os.environ, "DATABASE_URL": _database_url(config), "REDIS_URL": config.redis_url or ""}
    env.setdefault("SECRET_KEY", config.secret_key)
    env.setdefault("BASE_URL", config.base_url)
    # We stop the worker after the web server, so shutdown happens in one order.
    return await start_child(["worker"], env)


async def _watch_worker(worker: asyncio.subprocess.Process, stop: asyncio.Event) -> int | None:
    """The worker's exit code if it stopped on its own (then the web server stops too)."""
    waiting = asyncio.create_task(worker.wait())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if stop.is_set():
        waiting.cancel()
        return None
    stop.set()
    return worker.returncode


async def _stop_worker(worker: asyncio.subprocess.Process) -> None:
    await stop_child(worker, "the worker", WORKER_STOP_SECONDS)


# --- The socket tier beside the web server (realtime.tier) -------------------------------------

SOCKET_TIER_STOP_SECONDS = 10


def cmd_sockets(config: Config, args: argparse.Namespace) -> int:
    from hypercorn.config import Config as HypercornConfig

    config = resolve_services(config)
    http_bind = HypercornConfig.from_toml(str(HYPERCORN_TOML)).bind[0]
    bind = args.bind or _socket_tier_bind(http_bind) or _next_port(http_bind)
    return asyncio.run(_serve_sockets(config, bind))


async def _serve_sockets(config: Config, bind: str) -> int:
    from realtime.tier.server import serve_until

    host, _, port = bind.rpartition(":")
    if not port.isdigit():
        raise CommandError(f"--bind must be HOST:PORT, not {bind!r}")
    freeze_startup_objects()
    await serve_until(config, host.strip("[]") or "127.0.0.1", int(port), _stop_on_signals())
    return 0


def _socket_tier_bind(http_bind: str) -> str | None:
    """Where `run`/`serve` start the socket tier: SOCKETS_BIND, else the HTTP port + 1; None
    with SOCKETS_BIND=off (Hypercorn then serves the sockets itself)."""
    configured = os.environ.get("SOCKETS_BIND", "").strip()
    if configured.lower() == "off":
        return None
    return configured or _next_port(http_bind)


def _next_port(http_bind: str) -> str:
    host, _, port = http_bind.rpartition(":")
    if not port.isdigit() or host.startswith("unix"):
        raise CommandError(f"cannot place the socket tier beside {http_bind!r}: set SOCKETS_BIND")
    return f"{host}:{int(port) + 1}"


def _socket_tier_beside(config: Config, http_bind: str) -> tuple[Config, str | None]:
    """The tier's bind, and the config whose pages connect to it: on its own port unless
    SOCKETS_PUBLIC_URL is set (set but empty: the page's origin, for a load balancer that
    routes /ws/ to the tier)."""
    tier_bind = _socket_tier_bind(http_bind)
    if tier_bind is None or "SOCKETS_PUBLIC_URL" in os.environ:
        return config, tier_bind
    base = urlsplit(config.base_url)
    scheme = "wss" if base.scheme == "https" else "ws"
    port = tier_bind.rpartition(":")[2]
    host = base.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return config.with_changes(sockets_public_url=f"{scheme}://{host}:{port}"), tier_bind


async def _start_socket_tier(config: Config, bind: str) -> asyncio.subprocess.Process:
    # The parent's SECRET_KEY (random per start in development) and resolved URLs, so the
    # tier reads the same session cookies and the same databases.
    env = {**os.environ, **config.shared_environment()}
    log.info("starting the socket tier on %s", bind)
    return await start_child(["sockets", "--bind", bind], env)


async def _stop_socket_tier(tier: asyncio.subprocess.Process) -> None:
    if tier.returncode is not None:
        log.error("the socket tier had stopped (exit code %s)", tier.returncode)
        return
    await stop_child(tier, "the socket tier", SOCKET_TIER_STOP_SECONDS)


def cmd_seed_demo(config: Config, args: argparse.Namespace) -> int:
    from server.usecases.demo import seed_demo

    config = resolve_services(config)
    asyncio.run(migrate(_database_url(config)))
    summary = asyncio.run(seed_demo(config))
    print(summary, flush=True)
    return 0


def cmd_run_job(config: Config, args: argparse.Namespace) -> int:
    from jobs.context import close_context, open_context
    from jobs.job_metrics import counted_job
    from jobs.periodic import PERIODIC_JOBS

    async def run_once() -> object:
        ctx: dict[str, object] = {}
        await open_context(ctx, config)
        try:
            return await counted_job(PERIODIC_JOBS[args.name])(ctx)
        finally:
            await close_context(ctx)

    print(f"{args.name}: {asyncio.run(run_once())}", flush=True)
    return 0
