"""What must happen once a transaction has committed: the one home for after-commit work.

A use case fills an `Effects` value inside its transaction (slots that changed, events for a
provider's sockets, worker jobs to nudge) and returns it; the caller runs it with
`run_effects` after the commit — the route helper (server.routes.after_commit) for a request,
the job itself for the worker. A use case never publishes or enqueues, and never sees a Redis
handle. Running effects never raises: each is a notice whose record is already in the
database (sockets resnapshot after a Redis outage, the worker's cron sweeps what a lost nudge
left behind), so a committed change is never turned into an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from redis.asyncio import Redis

from realtime.cluster_publisher import Publisher
from realtime.publish import (
    Message,
    appointment_event_message,
    publish_messages,
    slot_changes_message,
    waitlist_changed_message,
)
from server.infra.job_queue import nudge_job
from server.models.slots import Slot
from server.notifications.outbox import DELIVERY_JOB
from server.webhooks.events import WEBHOOK_DELIVERY_JOB


@dataclass(frozen=True)
class SlotChange:
    """Slots of one service that now exist or changed, and ones that went."""

    service_id: UUID
    zone: ZoneInfo
    changed: tuple[Slot, ...] = ()
    removed: tuple[Slot, ...] = ()
    reset: bool = False


@dataclass(frozen=True)
class AppointmentEvent:
    """A change to one of a provider's appointments, as /ws/provider sends it."""

    provider_id: UUID
    event: str
    appointment: dict[str, Any]
    # `rescheduled` also says where it was: {"start_time", "end_time"}.
    previous: dict[str, Any] | None = None


@dataclass
class Effects:
    """After-commit work, in the order it was recorded; job nudges are sent once each."""

    slot_changes: list[SlotChange] = field(default_factory=list)
    appointment_events: list[AppointmentEvent] = field(default_factory=list)
    job_nudges: list[str] = field(default_factory=list)
    # (service id, day) whose waitlist changed: that day's waitlist sockets re-read.
    waitlist_days: list[tuple[UUID, date]] = field(default_factory=list)
    # Metrics counted once the change is committed (a rolled-back change counts nothing).
    counts: list[Counter] = field(default_factory=list)

    def slots_changed(
        self,
        service_id: UUID,
        zone: ZoneInfo,
        *,
        changed: Sequence[Slot] = (),
        removed: Sequence[Slot] = (),
        reset: bool = False,
    ) -> None:
        """Watchers of the service will see `changed` slots appear or change, `removed` go.

        A changed slot `held` for the waitlist was just offered to someone: their waitlist
        socket hears of it and the worker sends the offer's e-mail.
        """
        if changed or removed or reset:
            self.slot_changes.append(
                SlotChange(service_id, zone, tuple(changed), tuple(removed), reset)
            )
        for slot in changed:
            if slot.held:
                self.waitlist_changed(slot.service_id, slot.slot_date)
                self.nudge(DELIVERY_JOB)

    def waitlist_changed(self, service_id: UUID, day: date) -> None:
        """The waitlist sockets of the service's `day` will re-read their entries."""
        if (service_id, day) not in self.waitlist_days:
            self.waitlist_days.append((service_id, day))

    def appointment_changed(
        self,
        provider_id: UUID,
        event: str,
        appointment: dict[str, Any],
        *,
        previous: dict[str, Any] | None = None,
    ) -> None:
        """The provider's sockets will hear `event` about `appointment` (its JSON), and for a
        reschedule its `previous` times."""
        self.appointment_events.append(AppointmentEvent(provider_id, event, appointment, previous))

    def nudge(self, job_name: str) -> None:
        """The worker will be asked to run `job_name` now rather than at its next sweep."""
        if job_name not in self.job_nudges:
            self.job_nudges.append(job_name)

    def count(self, counter: Counter) -> None:
        """`counter` (a label-bound child of server/infra/metrics.py's) goes up by one."""
        self.counts.append(counter)

    def add(self, other: Effects) -> Effects:
        """Append `other`'s effects to these (a use case calling another); returns self."""
        self.slot_changes.extend(other.slot_changes)
        self.appointment_events.extend(other.appointment_events)
        for job_name in other.job_nudges:
            self.nudge(job_name)
        for service_id, day in other.waitlist_days:
            self.waitlist_changed(service_id, day)
        self.counts.extend(other.counts)
        return self

    def __bool__(self) -> bool:
        return bool(
            self.slot_changes or self.appointment_events or self.job_nudges or self.waitlist_days
        )


async def run_effects(effects: Effects, redis: Publisher | None, jobs: Redis | None) -> None:
    """After commit: publish the slot changes, appointment events and waitlist changes, all
    through one pipeline, then nudge the worker (coalesced with this process's other nudges,
    server.infra.job_queue.nudge_job).

    `redis` publishes (None: nothing is published), `jobs` is the arq client (None: the
    worker's sweeps pick the work up). Never raises for Redis trouble.
    """
    for counter in effects.counts:
        counter.inc()
    await publish_messages(redis, _messages(effects))
    for job_name in effects.job_nudges:
        await nudge_job(jobs, job_name)
    if effects.appointment_events:
        # A change to a booking may have queued webhook deliveries (server.webhooks.events).
        await nudge_job(jobs, WEBHOOK_DELIVERY_JOB)


def _messages(effects: Effects) -> list[Message]:
    messages: list[Message] = []
    for change in effects.slot_changes:
        message = slot_changes_message(
            change.service_id,
            change.zone,
            changed=change.changed,
            removed=change.removed,
            reset=change.reset,
        )
        if message is not None:
            messages.append(message)
    for event in effects.appointment_events:
        messages.append(
            appointment_event_message(
                event.provider_id, event.event, event.appointment, previous=event.previous
            )
        )
    for service_id, day in effects.waitlist_days:
        messages.append(waitlist_changed_message(service_id, day))
    return messages
