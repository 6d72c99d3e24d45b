"""A worker told to stop stops, even when the first cancellation is lost (jobs/worker_stop.py)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest
from arq.worker import Worker

from jobs.worker_stop import CertainStop
from server.infra.job_queue import QUEUE_NAME


async def loses_one_cancellation() -> None:
    """A main task that swallows its first cancellation, as a lost one looks from outside."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)
    await asyncio.sleep(3600)


def idle_worker() -> Worker:
    async def nothing(ctx: object) -> None:
        return None

    return Worker(functions=[nothing], queue_name=QUEUE_NAME, handle_signals=False)


async def test_a_worker_whose_first_cancellation_is_lost_still_stops_on_sigterm() -> None:
    worker = idle_worker()
    stop = CertainStop(worker)
    worker.main_task = asyncio.get_running_loop().create_task(loses_one_cancellation())
    await asyncio.sleep(0)  # the task is waiting inside its first sleep

    worker.handle_sig(signal.SIGTERM)  # arq's own handler: one cancellation, then on_stop

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(worker.main_task), timeout=10)
    assert stop.requested
