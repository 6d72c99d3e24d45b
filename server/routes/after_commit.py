"""The route side of after-commit work: a handler runs the Effects its use case returned."""

from __future__ import annotations

from server.infra.state import app_state
from server.usecases.effects import Effects, run_effects


async def run_after_commit(effects: Effects) -> None:
    """Publish and nudge what `effects` holds, with real time's publisher and the job queue.

    Call once the use case has returned (its transaction committed); never fails the request.
    """
    state = app_state()
    await run_effects(effects, state.publisher, state.jobs)
