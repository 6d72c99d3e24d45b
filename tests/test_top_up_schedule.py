"""The worker tops slots up every hour: a provider's newest day begins at their own midnight,
so a daily run left the last day of the horizon missing for most of a day in zones behind UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobs.worker import worker_settings
from server.infra.config import Config


def test_the_top_up_runs_at_least_once_an_hour_around_the_clock() -> None:
    settings: Any = worker_settings(Config(redis_url="redis://localhost:6379/0"))
    top_up = next(job for job in settings.cron_jobs if job.name == "cron:top_up_slots")
    moment = datetime(2026, 11, 24, tzinfo=UTC)
    for _ in range(24 * 60 // 7):
        top_up.calculate_next(moment)
        assert top_up.next_run is not None
        assert top_up.next_run - moment <= timedelta(hours=1, seconds=1), moment
        moment += timedelta(minutes=7)
