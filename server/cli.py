"""The `appointly` command: migrate, serve, worker, run, seed-demo, run-job."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from server.config import Config, ConfigError, load_config
from server.migrations import MigrationError, migrate
from server.paths import HYPERCORN_TOML
from server.runtime import resolve_services

log = logging.getLogger("appointly")


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config()
    except ConfigError as error:
        parser.exit(2, f"appointly: configuration error: {error}\n")
    try:
        args.handler(config, args)
    except MigrationError as error:
        parser.exit(1, f"appointly: migration failed: {error}\n")
    except KeyboardInterrupt:
        pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appointly", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending SQL migrations").set_defaults(
        handler=cmd_migrate
    )
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--bind", help="HOST:PORT (overrides hypercorn.toml)")
    serve.set_defaults(handler=cmd_serve)
    commands.add_parser("worker", help="run the arq worker").set_defaults(handler=cmd_worker)
    run = commands.add_parser("run", help="migrate, then web and worker in the foreground")
    run.add_argument("--bind", help="HOST:PORT (overrides hypercorn.toml)")
    run.set_defaults(handler=cmd_run)
    commands.add_parser("seed-demo", help="create demo data (idempotent)").set_defaults(
        handler=cmd_seed_demo
    )
    run_job = commands.add_parser("run-job", help="run one periodic job once now")
    run_job.add_argument("name", choices=["top_up_slots", "send_reminders", "expire_holds"])
    run_job.set_defaults(handler=cmd_run_job)
    return parser


def cmd_migrate(config: Config, args: argparse.Namespace) -> None:
    config = resolve_services(config)
    assert config.database_url
    applied = asyncio.run(migrate(config.database_url))
    print("applied: " + ", ".join(applied) if applied else "nothing to apply")


def cmd_serve(config: Config, args: argparse.Namespace) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    from server.app import create_app

    config = resolve_services(config)
    hypercorn_config = HypercornConfig.from_toml(str(HYPERCORN_TOML))
    if args.bind:
        hypercorn_config.bind = [args.bind]
    log.info("serving Appointly on %s", ", ".join(hypercorn_config.bind))
    asyncio.run(serve(create_app(config), hypercorn_config, mode="asgi"))


def cmd_worker(config: Config, args: argparse.Namespace) -> None:
    from arq.worker import run_worker

    from jobs.worker import worker_settings

    config = resolve_services(config)
    run_worker(worker_settings(config))


def cmd_run(config: Config, args: argparse.Namespace) -> None:
    config = resolve_services(config)
    assert config.database_url
    asyncio.run(migrate(config.database_url))
    # The worker is a child process given the resolved URLs, so both share the same servers.
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url or ""}
    env.setdefault("SECRET_KEY", config.secret_key)
    worker = subprocess.Popen([sys.executable, "-m", "server", "worker"], env=env)
    try:
        cmd_serve(config, args)
    finally:
        _stop_child(worker)


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def cmd_seed_demo(config: Config, args: argparse.Namespace) -> None:
    from server.demo import seed_demo

    config = resolve_services(config)
    assert config.database_url
    asyncio.run(migrate(config.database_url))
    summary = asyncio.run(seed_demo(config))
    print(summary)


def cmd_run_job(config: Config, args: argparse.Namespace) -> None:
    from jobs.context import close_context, open_context
    from jobs.periodic import PERIODIC_JOBS

    async def run_once() -> object:
        ctx: dict[str, object] = {}
        await open_context(ctx, resolve_services(config))
        try:
            return await PERIODIC_JOBS[args.name](ctx)
        finally:
            await close_context(ctx)

    print(f"{args.name}: {asyncio.run(run_once())}")
