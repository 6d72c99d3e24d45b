"""An HAProxy configuration for Appointly across several processes or machines.

One frontend takes every request and sends `/ws/…` to the WebSocket backends and everything
else to the web backends, round robin, each server health-checked on `/healthz`. The socket
backends are a separate list: they default to the web processes (which serve `/ws/` too) and
can point at a socket tier instead. A WebSocket is one long-lived tunnel once upgraded, so its
idle limit is `timeout tunnel` (longer than the sockets' own ping interval), not the short
HTTP timeouts. `option forwardfor` adds the client's address in `X-Forwarded-For`; the web
processes believe it only from addresses in FORWARDED_ALLOW_IPS (server/edge/forwarded.py),
and so `X-Forwarded-Proto`, which the frontend sets to the scheme the client used.

`python -m server.infra.haproxy --listen 0.0.0.0:80 --web 10.0.0.11:8000 --web 10.0.0.12:8000`
prints a configuration (`--sockets HOST:PORT` for a socket tier).
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

# Idle limits. A socket's own ping (hypercorn.toml: websocket_ping_interval = 20) keeps a live
# tunnel busier than this, so only a dead one is cut.
TUNNEL_TIMEOUT = "1h"
HTTP_TIMEOUT = "30s"
CONNECT_TIMEOUT = "5s"
HEALTH_CHECK_INTERVAL = "2s"


@dataclass(frozen=True)
class Balancer:
    """What the balancer listens on and the `HOST:PORT` of the processes behind it."""

    listen: str
    web: Sequence[str]
    # `/ws/` backends; empty means the web processes serve the sockets too.
    sockets: Sequence[str] = ()
    # What the balancer asks each backend to tell it is healthy.
    web_health_path: str = "/healthz"
    sockets_health_path: str = "/healthz"
    # Adds `X-Appointly-Backend: <server name>` to responses (tests see which process answered).
    name_backends: bool = False
    # None: HAProxy derives it from the file-descriptor limit (`ulimit -n`), which is what
    # bounds open sockets anyway; raise both together for a large socket tier.
    max_connections: int | None = None
    health_check_interval: str = HEALTH_CHECK_INTERVAL
    extra_global: Sequence[str] = field(default_factory=tuple)

    @property
    def socket_servers(self) -> Sequence[str]:
        return self.sockets or self.web


def haproxy_binary() -> str:
    """The `haproxy` program (Debian installs it in /usr/sbin, which is not on every PATH)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError("HAProxy is not installed (Debian: apt-get install haproxy)")
    return found


def haproxy_config(balancer: Balancer) -> str:
    """The text of haproxy.cfg for `balancer`."""
    if not balancer.web:
        raise ValueError("at least one web process is needed")
    maxconn = [] if balancer.max_connections is None else [f"maxconn {balancer.max_connections}"]
    lines = [
        "global",
        *(f"    {line}" for line in (*maxconn, *balancer.extra_global)),
        "",
        "defaults",
        "    mode http",
        f"    timeout connect {CONNECT_TIMEOUT}",
        f"    timeout client {HTTP_TIMEOUT}",
        f"    timeout server {HTTP_TIMEOUT}",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        # An upgraded WebSocket is a tunnel: this, not the HTTP timeouts, bounds its idle time.
        f"    timeout tunnel {TUNNEL_TIMEOUT}",
        "    timeout client-fin 30s",
        "    option forwardfor",
        "    option redispatch",
        "    retries 2",
        "",
        "frontend appointly",
        f"    bind {balancer.listen}",
        # The scheme the client used (a TLS `bind … ssl crt …` line makes it https).
        "    http-request set-header X-Forwarded-Proto https if { ssl_fc }",
        "    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
        "    acl is_socket path_beg /ws/",
        "    use_backend sockets if is_socket",
        "    default_backend web",
        "",
        *_backend("web", "web", balancer.web, balancer.web_health_path, balancer),
        "",
        *_backend("sockets", "ws", balancer.socket_servers, balancer.sockets_health_path, balancer),
        "",
    ]
    return "\n".join(lines)


def _backend(
    name: str, prefix: str, servers: Sequence[str], health_path: str, balancer: Balancer
) -> list[str]:
    lines = [
        f"backend {name}",
        # Sockets: the process with the fewest open ones takes the next (they live for hours).
        f"    balance {'leastconn' if name == 'sockets' else 'roundrobin'}",
        # HTTP/1.1 with a Host: the socket tier (the websockets library) refuses HTTP/1.0.
        "    option httpchk",
        f"    http-check send meth GET uri {health_path} ver HTTP/1.1 hdr Host appointly",
        "    http-check expect status 200",
    ]
    if balancer.name_backends:
        lines.append("    http-response set-header X-Appointly-Backend %s")
    check = f"check inter {balancer.health_check_interval} fall 2 rise 1"
    lines += [f"    server {prefix}{n} {address} {check}" for n, address in enumerate(servers, 1)]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print an HAProxy configuration for Appointly.")
    parser.add_argument("--listen", default="0.0.0.0:80", help="HOST:PORT the balancer binds")
    parser.add_argument("--web", action="append", required=True, help="a web process HOST:PORT")
    parser.add_argument(
        "--sockets", action="append", default=[], help="a /ws/ process HOST:PORT (default: --web)"
    )
    parser.add_argument(
        "--sockets-health", default="/healthz", help="what the /ws/ backends answer 200 on"
    )
    parser.add_argument("--maxconn", type=int, help="global maxconn (default: from ulimit -n)")
    args = parser.parse_args(argv)
    balancer = Balancer(
        args.listen,
        args.web,
        args.sockets,
        sockets_health_path=args.sockets_health,
        max_connections=args.maxconn,
    )
    print(haproxy_config(balancer))


if __name__ == "__main__":
    main()
