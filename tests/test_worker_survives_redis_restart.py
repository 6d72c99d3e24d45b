"""A real `appointly worker` whose Redis stalls or dies and comes back keeps working: arq's
poll loop ends on a Redis error or a read timeout, and the command starts the worker again
instead of exiting (seen on a loaded machine: a read slower than the timeout ended a worker)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from arq.connections import ArqRedis

from jobs.worker import WORKER_REDIS_TIMEOUT
from server.infra.job_queue import QUEUE_NAME
from tests.support.cli_process import appointly_env, wait_for_worker_heartbeat
from tests.support.private_redis import PrivateRedis, private_redis
from tests.test_webhook_worker import start_worker

pytestmark = pytest.mark.slow


async def run_a_job(redis_url: str) -> None:
    queue = ArqRedis.from_url(redis_url)
    try:
        job = await queue.enqueue_job("purge_expired", _queue_name=QUEUE_NAME)
        assert job is not None
        await job.result(timeout=30)
    finally:
        await queue.aclose()


@asynccontextmanager
async def worker_on_its_own_redis(
    tmp_path: Path, database_url: str
) -> AsyncIterator[tuple[PrivateRedis, asyncio.subprocess.Process]]:
    """A real `appointly worker` polling a Redis of the test's own, once it is polling."""
    async with private_redis(tmp_path) as redis:
        env = appointly_env(
            DATABASE_URL=database_url,
            REDIS_URL=redis.url,
            APP_ENV="test",
            SECRET_KEY="test-secret-key",
        )
        worker = await start_worker(env, tmp_path / "worker.log")
        try:
            await wait_for_worker_heartbeat(redis.url)
            yield redis, worker
        finally:
            if worker.returncode is None:
                worker.terminate()
            try:
                async with asyncio.timeout(30):
                    await worker.wait()
            except TimeoutError:
                worker.kill()
                await worker.wait()
                raise AssertionError("the worker did not stop on SIGTERM") from None


async def test_a_worker_whose_redis_restarts_runs_jobs_again(
    tmp_path: Path, database_url: str
) -> None:
    async with worker_on_its_own_redis(tmp_path, database_url) as (redis, worker):
        await run_a_job(redis.url)

        await redis.kill()
        await redis.start()

        await run_a_job(redis.url)
        assert worker.returncode is None, (tmp_path / "worker.log").read_text()


async def test_a_worker_whose_redis_stalls_longer_than_its_timeout_runs_jobs_again(
    tmp_path: Path, database_url: str
) -> None:
    async with worker_on_its_own_redis(tmp_path, database_url) as (redis, worker):
        assert redis.process is not None
        # Redis frozen (not gone): every read waits past the worker's Redis timeout.
        redis.process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(WORKER_REDIS_TIMEOUT + 2)
        redis.process.send_signal(signal.SIGCONT)

        await run_a_job(redis.url)
        assert worker.returncode is None, (tmp_path / "worker.log").read_text()
