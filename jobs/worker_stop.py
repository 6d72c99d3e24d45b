"""Stopping an arq worker for certain once SIGTERM or SIGINT asked it to.

arq's signal handler cancels the worker's main task once. A cancellation can be lost: in
Python 3.11, `asyncio.wait_for` drops one that lands as the awaited read completes, and the
worker then polls on as if no signal had come (seen in the suite: a worker told to stop half a
second after it reconnected to Redis ran its cron jobs for minutes). So the main task is
cancelled again every CANCEL_AGAIN_SECONDS until it ends, and a stopped worker is not started
again.
"""

from __future__ import annotations

from signal import Signals

from arq.worker import Worker

CANCEL_AGAIN_SECONDS = 1.0


class CertainStop:
    """Attached to a worker: remembers whether a signal asked it to stop, and makes it stop."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.requested = False
        # arq calls on_stop from its own signal handler, after its one cancellation.
        worker.on_stop = self._on_signal

    def _on_signal(self, _signal: Signals) -> None:
        self.requested = True
        self.worker.loop.call_later(CANCEL_AGAIN_SECONDS, self.cancel_until_done)

    def cancel_until_done(self) -> None:
        """Cancel the worker's main task, and again every CANCEL_AGAIN_SECONDS until it ends."""
        task = self.worker.main_task
        if task is not None and not task.done():
            task.cancel()
            self.worker.loop.call_later(CANCEL_AGAIN_SECONDS, self.cancel_until_done)
