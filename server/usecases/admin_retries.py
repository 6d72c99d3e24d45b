"""The operator's "retry": a message the worker gave up on goes back into the outbox.

The row is made `pending` again with its attempts counted from zero, so the worker tries it
with the full back-off schedule once more, and a nudge (after commit) asks it to look now.
A message whose body held a secret link was emptied after its last attempt (the hourly
purge): there is nothing left to send, and the recipient asks for a new link instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from server.edge.errors import APIError
from server.notifications.outbox import DELIVERY_JOB
from server.usecases.admin_overview import FailedMessage
from server.usecases.effects import Effects


@dataclass(frozen=True)
class RetriedMessage:
    message: FailedMessage
    effects: Effects


async def retry_failed_message(
    conn: asyncpg.Connection, message_id: UUID, now: datetime
) -> RetriedMessage:
    """Queue a `failed` message again; 404 unknown, 409 not failed or its body purged."""
    async with conn.transaction():
        row = await conn.fetchrow(
            """
            SELECT status, body_text = '' AS body_purged
              FROM outbox
             WHERE id = $1
               FOR UPDATE
            """,
            message_id,
        )
        if row is None:
            raise APIError(404, "message_not_found", "No such message.")
        if row["status"] != "failed":
            raise APIError(409, "message_not_failed", "Only a failed message can be retried.")
        if row["body_purged"]:
            raise APIError(
                409,
                "message_body_purged",
                "This message carried a one-time link and its body was cleared; "
                "the recipient must ask for a new link.",
            )
        retried = await conn.fetchrow(
            """
            UPDATE outbox
               SET status = 'pending',
                   attempts = 0,
                   next_attempt_at = $2,
                   locked_until = NULL,
                   lease_token = NULL
             WHERE id = $1
            RETURNING id, status, channel, kind, recipient, subject, attempts, last_error,
                      created_at, false AS body_purged
            """,
            message_id,
            now,
        )
    assert retried is not None
    return RetriedMessage(FailedMessage(**dict(retried)), Effects(job_nudges=[DELIVERY_JOB]))
