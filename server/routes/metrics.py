"""GET /metrics: the deployment's Prometheus metrics, for the scraper holding METRICS_TOKEN.

Without METRICS_TOKEN the route does not exist (404). A missing bearer token is 401, a wrong
one 403; the comparison takes the same time whatever the guess. The figures are every
process's (prometheus-client's multi-process mode, server/infra/metrics_dir.py) plus the
outbox backlog, read from the database at scrape time so any web process answers the same.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from quart import Blueprint, Response, request
from werkzeug.exceptions import NotFound

from server.edge.errors import APIError
from server.edge.metrics_listener import LISTENER_KEY
from server.infra import metrics
from server.infra.metrics_dir import ENV, tidy_metrics_dir
from server.infra.pool_gauges import sample_pools
from server.infra.state import config, db, release_db
from server.models.outbox_backlog import OutboxBacklog, select_outbox_backlog

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
async def get_metrics() -> Response:
    """Prometheus text format, with `Authorization: Bearer METRICS_TOKEN`."""
    if not request.scope.get(LISTENER_KEY):  # the private --metrics-bind address needs none
        _require_scraper(config().metrics_token)
    backlog = await select_outbox_backlog(await db())
    await release_db()
    sample_pools()
    body = await asyncio.to_thread(_exposition, backlog)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def _require_scraper(token: str | None) -> None:
    if token is None:
        raise NotFound()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise APIError(
            401,
            "unauthenticated",
            "Send the metrics token as `Authorization: Bearer …`.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise APIError(403, "forbidden", "That is not the metrics token.")


def _exposition(backlog: OutboxBacklog) -> bytes:
    """Every process's metrics (or this process's alone, outside multi-process mode), then
    the database's figures."""
    folder = os.environ.get(ENV)
    if folder:
        tidy_metrics_dir(Path(folder))
        processes = CollectorRegistry()
        MultiProcessCollector(processes, folder)  # type: ignore[no-untyped-call]
        text = generate_latest(processes)
    else:
        text = generate_latest(REGISTRY)
    from_database = CollectorRegistry()
    from_database.register(_BacklogCollector(backlog))
    return text + generate_latest(from_database)


class _BacklogCollector:
    def __init__(self, backlog: OutboxBacklog) -> None:
        self.backlog = backlog

    def collect(self) -> list[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            metrics.OUTBOX_PENDING, metrics.OUTBOX_PENDING_HELP, labels=["kind"]
        )
        for kind, count in sorted(self.backlog.pending_by_kind.items()):
            pending.add_metric([kind], count)
        oldest = GaugeMetricFamily(
            metrics.OUTBOX_OLDEST_DUE_AGE,
            metrics.OUTBOX_OLDEST_DUE_AGE_HELP,
            value=self.backlog.oldest_due_age_seconds,
        )
        return [pending, oldest]
