"""`appointly serve --workers N`: N web processes answering on one address.

The parent resolves what every process must share once, before any starts: the database and
Redis URLs (starting the embedded servers if those are not set), the public origin, and the
SECRET_KEY that signs sessions (random per start in development: generated here once, so a
session cookie made by one process is good at every other). It then starts N children, each
`appointly serve --bind HOST:PORT --reuse-port`, which bind their own listening socket with
SO_REUSEPORT: the kernel spreads new connections over the N sockets, so no process accepts
more than its share and a long-lived keep-alive or WebSocket stays with the process it met.

Ctrl-C (SIGINT) or SIGTERM to the parent stops every child gracefully (SIGTERM, then a kill
after STOP_SECONDS); a child that dies on its own stops the rest, and the parent exits 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from server.infra.child_processes import start_child, stop_child
from server.infra.config import Config

log = logging.getLogger("appointly")

# How long the web processes get to finish their requests after Ctrl-C before being killed.
STOP_SECONDS = 15
# What `--reuse-port` children are started with, so their environment says what they share.
SHARED_VARIABLES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BASE_URL")


def reuse_port_socket(bind: str) -> socket.socket:
    """A listening TCP socket on `bind` (HOST:PORT) that other processes may bind too
    (SO_REUSEPORT), for Hypercorn to serve through `fd://`."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"  # an empty host: every address, as Hypercorn reads it
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, int(port)))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def serve_in_processes(
    config: Config, bind: str, workers: int, tier_bind: str | None = None
) -> int:
    """Run `workers` web processes on `bind` (and the socket tier on `tier_bind`, once, as
    one more child) until Ctrl-C or SIGTERM; the exit status."""
    return asyncio.run(_supervise(config, bind, workers, tier_bind))


async def _supervise(config: Config, bind: str, workers: int, tier_bind: str | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Resolved URLs, one secret key and origin; the web processes leave the sockets to the
    # one tier started here (their pages point at it through SOCKETS_PUBLIC_URL).
    env = {**os.environ, **config.shared_environment()}
    web_env = env if tier_bind is None else {**env, "SOCKETS_BIND": "off"}
    # Any one process's /metrics sums every process's (the shared multi-process folder), so
    # the first alone listens on --metrics-bind.
    metrics = ["--metrics-bind", config.metrics_bind] if config.metrics_bind else []
    children = [
        await start_child(
            ["serve", "--bind", bind, "--reuse-port", *(metrics if n == 0 else [])], web_env
        )
        for n in range(workers)
    ]
    if tier_bind is not None:
        children.append(await start_child(["sockets", "--bind", tier_bind], env))
    log.info(
        "serving Appointly on %s from %d processes (%s)",
        bind,
        workers,
        ", ".join(str(child.pid) for child in children),
    )
    exits = [asyncio.create_task(child.wait()) for child in children]
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
    crashed = [child for child in children if child.returncode is not None]
    stopping.cancel()
    await asyncio.gather(*(stop_child(child, "web process", STOP_SECONDS) for child in children))
    if crashed and not stop.is_set():
        log.error(
            "web process %d stopped unexpectedly (exit code %s); stopped the others",
            crashed[0].pid,
            crashed[0].returncode,
        )
        return 1
    return 0
