"""After-commit work has one home: use cases fill an Effects value and return it, and only the
route helper or the job context runs it (server.usecases.effects)."""

from __future__ import annotations

import ast
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

from server.usecases.effects import Effects

USECASES = Path(__file__).resolve().parent.parent / "server" / "usecases"
# What only running effects may touch: publishing, enqueueing, and Redis itself.
AFTER_COMMIT_MODULES = ("redis", "realtime.publish", "arq")
AFTER_COMMIT_NAMES = frozenset(
    {"nudge_delivery", "run_effects", "enqueue_job", "nudge_job", "job_queue", "publish_messages"}
)


def imports_of(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def test_no_use_case_publishes_enqueues_or_sees_a_redis_handle() -> None:
    offenders = [
        f"{path.name}: {module}.{name}"
        for path in sorted(USECASES.glob("*.py"))
        if path.name != "effects.py"
        for module, name in imports_of(path)
        if module.startswith(AFTER_COMMIT_MODULES) or name in AFTER_COMMIT_NAMES
    ]
    assert offenders == []


def test_effects_keep_their_order_and_nudge_each_job_once() -> None:
    first, second = Effects(), Effects()
    service_id, provider_id = uuid4(), uuid4()
    first.slots_changed(service_id, ZoneInfo("Europe/London"), reset=True)
    first.nudge("deliver_outbox")
    second.appointment_changed(provider_id, "cancelled", {"id": "a"})
    second.nudge("process_refunds")
    second.nudge("deliver_outbox")

    merged = first.add(second)

    assert [change.service_id for change in merged.slot_changes] == [service_id]
    assert [event.event for event in merged.appointment_events] == ["cancelled"]
    assert merged.job_nudges == ["deliver_outbox", "process_refunds"]


def test_a_change_that_changed_no_slot_announces_nothing() -> None:
    effects = Effects()
    effects.slots_changed(uuid4(), ZoneInfo("Asia/Tokyo"), changed=[], removed=[])
    assert not effects
