"""The operator's API behind /admin: what today needs a SQL prompt (APPOINTLY_ADMIN_EMAILS).

Only a signed-in user whose verified e-mail is listed gets an answer; anyone else signed in
gets 404, as if the routes did not exist (server/usecases/admin_access.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response

from server.edge.api_docs import errors, responds
from server.infra.jsonio import json_response
from server.infra.state import db
from server.routes.after_commit import run_after_commit
from server.usecases.admin_access import require_admin
from server.usecases.admin_overview import message_json, read_overview
from server.usecases.admin_retries import retry_failed_message

blueprint = Blueprint("admin", __name__)


# --- Shapes (documentation of what the use cases answer) ----------------------------------------


class Shape(BaseModel):
    """A documented answer: extra fields are an error, so tests/test_admin.py proves each
    answer has exactly the documented fields."""

    model_config = ConfigDict(extra="forbid")


class OutboxKind(Shape):
    kind: str = Field(description="The message kind, e.g. `booking_received`, `reminder`.")
    channel: Literal["email", "sms"]
    pending: int = Field(ge=0, description="Messages not sent yet.")
    held: int = Field(ge=0, description="Of those, held until their booking is paid.")
    retrying: int = Field(ge=0, description="Of those, tried at least once already.")
    oldest_due_at: datetime | None = Field(description="When the oldest due one became due.")
    oldest_due_age_seconds: float | None = Field(description="How long it has waited since.")


class OutboxBacklog(Shape):
    pending_total: int = Field(ge=0)
    oldest_due_age_seconds: float | None
    by_kind: list[OutboxKind]


class FailedMessage(Shape):
    """A message the worker gave up on; its body is never shown (it may hold a secret link)."""

    id: UUID
    status: Literal["failed", "pending"]
    channel: Literal["email", "sms"]
    kind: str
    recipient: str
    subject: str | None
    attempts: int = Field(ge=0)
    last_error: str | None = Field(description="The last error, URLs cut to their origin.")
    created_at: datetime
    body_purged: bool = Field(
        description="The body carried a one-time link and was cleared: it cannot be retried."
    )


class FailedMessages(Shape):
    total: int = Field(ge=0, description="All failed messages (the list shows the newest 100).")
    items: list[FailedMessage]


class FailedRefund(Shape):
    id: UUID
    appointment_id: UUID
    payment_intent_id: str = Field(description="Stripe's payment, to find it in its dashboard.")
    business_name: str
    status: Literal["failed"]
    attempts: int = Field(ge=0)
    last_error: str | None
    requested_at: datetime
    next_attempt_at: datetime | None = Field(description="Null: the worker gave up.")


class WebhookFailure(Shape):
    id: UUID
    webhook_id: UUID
    business_name: str
    url_origin: str = Field(description="Only the receiver's origin: a URL's path may be secret.")
    event: str
    status: Literal["failed", "pending"]
    attempts: int = Field(ge=0)
    response_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="Null once the worker gave up.")


class CalendarError(Shape):
    kind: Literal["busy_feed", "caldav_pull", "caldav_push"]
    provider_id: UUID
    business_name: str
    url_origin: str | None
    last_error: str | None
    last_synced_at: datetime | None
    attempts: int | None
    appointment_id: UUID | None = Field(description="The booking a failed CalDAV push is for.")


class Overview(Shape):
    generated_at: datetime
    outbox: OutboxBacklog
    failed_messages: FailedMessages
    failed_refunds: list[FailedRefund]
    webhook_failures: list[WebhookFailure]
    calendar_errors: list[CalendarError]


class RetriedMessage(Shape):
    message: FailedMessage


def _now() -> datetime:
    return datetime.now(UTC)


# --- Routes -------------------------------------------------------------------------------------


@blueprint.get("/api/admin/overview")
@responds(200, Overview)
@errors(401, 404)
async def get_admin_overview() -> Response:
    """The operator's overview: outbox backlog by kind, failed messages, failed refunds,
    webhook delivery failures and calendar sync errors (operators only; others get 404)."""
    await require_admin()
    overview = await read_overview(await db(), _now())
    return json_response(overview.to_json())


@blueprint.post("/api/admin/messages/<uuid:message_id>/retry")
@responds(200, RetriedMessage)
@errors(401, 404, 409)
async def post_admin_message_retry(message_id: UUID) -> Response:
    """Send a failed message again: it goes back into the outbox with a fresh set of attempts
    and the worker is nudged. 409 `message_not_failed` when it is not failed, 409
    `message_body_purged` when its one-time link was already cleared from the database."""
    await require_admin()
    retried = await retry_failed_message(await db(), message_id, _now())
    await run_after_commit(retried.effects)
    return json_response({"message": message_json(retried.message)})
