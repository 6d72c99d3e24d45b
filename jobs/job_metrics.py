"""Runs, failures and durations of every worker job, for /metrics."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from arq.worker import Function

from server.infra.metrics import JOB_DURATION, JOB_RUNS

Job = TypeVar("Job", bound=Callable[..., Awaitable[Any]])


def counted_job(job: Job) -> Job:
    """`job`, counted under its own name (arq names it by the same `__qualname__`)."""
    name = job.__name__

    @functools.wraps(job)
    async def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await job(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            JOB_RUNS.labels(name, outcome).inc()
            JOB_DURATION.labels(name).observe(time.perf_counter() - started)

    return run  # type: ignore[return-value]


def count_every_job(settings: type) -> type:
    """`settings` (arq WorkerSettings) with every function and cron job counted."""
    functions = [_counted_function(item) for item in settings.functions]  # type: ignore[attr-defined]
    settings.functions = functions  # type: ignore[attr-defined]
    for cron_job in settings.cron_jobs:  # type: ignore[attr-defined]
        cron_job.coroutine = counted_job(cron_job.coroutine)
    return settings


def _counted_function(item: Any) -> Any:
    if isinstance(item, Function):
        return replace(item, coroutine=counted_job(item.coroutine))
    return counted_job(item)
