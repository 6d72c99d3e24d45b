"""A provider's webhooks: add one (its secret shown once), list, remove, and read the last
deliveries. Deliveries themselves are queued by server.webhooks.events and sent by the
worker (server.webhooks.delivery)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from server.domain.rules import RuleBroken
from server.edge.errors import APIError
from server.infra.config import Config
from server.infra.secret_box import encrypt_secret
from server.models import webhooks
from server.models.providers import Provider
from server.models.webhooks import DeliveryRecord, Webhook
from server.webhooks.signing import SECRET_PURPOSE, new_secret
from server.webhooks.urls import check_webhook_url

MAX_WEBHOOKS = 10
RECENT_DELIVERIES = 50


def webhook_not_found() -> APIError:
    return APIError(404, "webhook_not_found", "There is no such webhook.")


def parse_webhook_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise webhook_not_found() from None


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str

    def to_json(self) -> dict[str, Any]:
        return {"webhook": self.webhook.to_json() | {"secret": self.secret}}


async def add_webhook(
    conn: asyncpg.Connection, provider: Provider, url: str, events: list[str], config: Config
) -> NewWebhook:
    """A new webhook for `events` at `url`; the answer carries its secret, never shown again.
    422 `invalid_url` (not http(s), or not public in production), `too_many_webhooks`."""
    check_webhook_url(url, production=config.app_env == "production")
    secret = new_secret()
    chosen = sorted(set(events), key=events.index)
    async with conn.transaction():
        # One provider adding webhooks from two tabs still stops at MAX_WEBHOOKS.
        await conn.execute("SELECT id FROM providers WHERE id = $1 FOR UPDATE", provider.id)
        if await webhooks.count_webhooks(conn, provider.id) >= MAX_WEBHOOKS:
            raise RuleBroken(
                "too_many_webhooks", f"A business can have at most {MAX_WEBHOOKS} webhooks."
            )
        webhook = await webhooks.insert_webhook(
            conn,
            provider.id,
            url,
            chosen,
            encrypt_secret(config.secret_key, SECRET_PURPOSE, secret),
        )
    return NewWebhook(webhook, secret)


async def list_webhooks(conn: asyncpg.Connection, provider: Provider) -> list[Webhook]:
    return await webhooks.select_webhooks(conn, provider.id)


async def remove_webhook(conn: asyncpg.Connection, provider: Provider, webhook_id: UUID) -> None:
    """Delete the webhook and its deliveries (pending ones are never sent); 404 when it is not
    the provider's."""
    if not await webhooks.delete_webhook(conn, provider.id, webhook_id):
        raise webhook_not_found()


async def recent_deliveries(
    conn: asyncpg.Connection, provider: Provider, webhook_id: UUID
) -> list[DeliveryRecord]:
    """The webhook's last RECENT_DELIVERIES deliveries, newest first; 404 when not theirs."""
    found = await webhooks.select_recent_deliveries(
        conn, provider.id, webhook_id, RECENT_DELIVERIES
    )
    if found is None:
        raise webhook_not_found()
    return found
