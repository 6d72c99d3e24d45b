"""Delivering webhooks: claim due rows under a lease, POST each outside any transaction, and
record the outcome.

The claim and the lease are the outbox's (server.notifications.delivery): a worker killed
mid-batch only delays its rows until the lease runs out, and a run records an outcome only
while it still holds the row's lease token. A 2xx answer marks the delivery delivered; any
other answer, a timeout or a refused address is retried with exponential back-off
(job_queue.retry_delay) until GIVE_UP_AFTER has passed since the event, then it is failed.
The body is built from the row, so every attempt sends the same event `id` and bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from server.calendars.public_urls import check_public_host
from server.domain.rules import RuleBroken
from server.infra.config import Config
from server.infra.job_queue import retry_delay
from server.infra.jsonio import dumps
from server.infra.metrics import WEBHOOK_DELIVERIES
from server.infra.secret_box import SecretUnreadable, decrypt_secret
from server.models import webhooks
from server.models.webhooks import DueDelivery
from server.webhooks.signing import SECRET_PURPOSE, SIGNATURE_HEADER, signature

log = logging.getLogger(__name__)

# A recorded status, as appointly_webhook_deliveries_total names the attempt's outcome.
_OUTCOMES = {"delivered": "delivered", "pending": "retry", "failed": "gave_up"}

LEASE = timedelta(minutes=2)
BATCH_SIZE = 20
# How many deliveries of a batch are in flight at once.
CONCURRENCY = 5
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
USER_AGENT = "Appointly-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    response_status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def delivery_body(delivery: DueDelivery) -> bytes:
    """The exact bytes POSTed (and signed) for `delivery`: the same on every attempt."""
    return dumps(
        {
            "id": str(delivery.id),
            "type": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        }
    )


async def deliver_webhooks_due(
    pool: Any,
    config: Config,
    *,
    now: datetime | None = None,
    lease: timedelta = LEASE,
    batch_size: int = BATCH_SIZE,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Send every delivery due at `now` (default: the clock), batch by batch; how many were
    delivered. Safe to run in any number of workers at once."""
    delivered = 0
    token = uuid.uuid4()
    async with httpx.AsyncClient(
        timeout=TIMEOUT, follow_redirects=False, transport=transport
    ) as client:
        while True:
            moment = now or datetime.now().astimezone()
            async with pool.acquire() as conn:
                batch = await webhooks.claim_due_deliveries(
                    conn, moment, token=token, lease=lease, limit=batch_size
                )
            if not batch:
                return delivered
            sender = _Sender(pool, config, client, now, lease)
            outcomes = await asyncio.gather(*(sender.deliver(item) for item in batch))
            delivered += sum(outcomes)
            if len(batch) < batch_size:
                return delivered


@dataclass
class _Sender:
    pool: Any
    config: Config
    client: httpx.AsyncClient
    now: datetime | None
    lease: timedelta

    def __post_init__(self) -> None:
        self.limit = asyncio.Semaphore(CONCURRENCY)

    def moment(self) -> datetime:
        return self.now or datetime.now().astimezone()

    async def deliver(self, delivery: DueDelivery) -> bool:
        async with self.limit:
            async with self.pool.acquire() as conn:
                if not await webhooks.extend_delivery_lease(
                    conn, delivery, self.moment(), self.lease
                ):
                    log.info("webhook delivery %s was claimed by another run", delivery.id)
                    return False
            attempt = await self.attempt(delivery)
            await self.record(delivery, attempt)
            return attempt.delivered

    async def attempt(self, delivery: DueDelivery) -> Attempt:
        """One POST, outside any transaction."""
        try:
            secret = decrypt_secret(
                self.config.secret_key, SECRET_PURPOSE, delivery.secret_encrypted
            )
        except SecretUnreadable as error:
            return Attempt(None, str(error))
        if self.config.app_env == "production":
            try:
                await check_public_host(delivery.url)
            except RuleBroken as refused:
                return Attempt(None, refused.message)
        body = delivery_body(delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            # Signed when sent (the wall clock, whatever `now` drives): receivers check freshness.
            SIGNATURE_HEADER: signature(secret, int(time.time()), body),
        }
        try:
            response = await self.client.post(delivery.url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            return Attempt(None, f"{type(error).__name__}: {error}")
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code, None)
        return Attempt(response.status_code, f"answered {response.status_code}")

    async def record(self, delivery: DueDelivery, attempt: Attempt) -> None:
        moment = self.moment()
        retry_at = moment + retry_delay(delivery.attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)
        if attempt.delivered:
            status = "delivered"
        elif retry_at >= delivery.created_at + GIVE_UP_AFTER:
            status = "failed"
        else:
            status = "pending"
        if not attempt.delivered:
            log.warning("webhook delivery %s failed: %s", delivery.id, attempt.error)
        async with self.pool.acquire() as conn:
            await webhooks.record_attempt(
                conn,
                delivery,
                status=status,
                response_status=attempt.response_status,
                error=attempt.error,
                next_attempt_at=retry_at,
                now=moment,
            )
        WEBHOOK_DELIVERIES.labels(_OUTCOMES[status]).inc()
