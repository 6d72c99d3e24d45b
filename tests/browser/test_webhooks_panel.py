"""The webhooks panel on /availability, in a real browser: a bad address is said next to the
field, adding one shows its secret once (with Copy), a booking's delivery shows as Delivered
under Deliveries, and Delete removes it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from server.webhooks.delivery import deliver_webhooks_due
from tests.browser.conftest import ConsoleWatch, become_provider_through_api
from tests.conftest import LiveApp
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.browser


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    started = await WebhookReceiver().start()
    yield started
    await started.stop()


async def test_a_provider_adds_a_webhook_sees_its_secret_once_and_its_deliveries(
    page: Page,
    console: ConsoleWatch,
    live_app: LiveApp,
    db_pool: Any,
    receiver: WebhookReceiver,
) -> None:
    await become_provider_through_api(page)
    console.allow("/api/providers/me/caldav")  # the CalDAV panel's GET: 404 while none is set
    await page.goto("/availability")
    panel = page.locator("[data-webhooks-panel]")
    await expect(panel.get_by_role("heading", name="Webhooks")).to_be_visible()
    await expect(panel.locator("[data-webhook-empty]")).to_be_visible()

    console.allow("/api/providers/me/webhooks")  # the 422 below
    await panel.get_by_label("Endpoint URL").fill("ftp://example.com/hook")
    await panel.get_by_role("button", name="Add webhook").click()
    await expect(panel.locator("#webhook_url-error")).to_contain_text("https://")

    await panel.get_by_label("Endpoint URL").fill(receiver.url)
    await panel.get_by_role("button", name="Add webhook").click()
    secret = panel.get_by_label("Signing secret")
    await expect(secret).to_have_value(re.compile("^whsec_"))
    await expect(panel.locator("[data-webhook-list] li")).to_have_count(1)
    await expect(panel.locator("[data-webhook-list]")).to_contain_text(receiver.url)

    # A booking of this provider's service, delivered by the worker's job.
    async with live_app.client(cookies=await _cookies(page)) as provider:
        service = await create_service(provider)
        slot = (await free_slots(provider, service["id"], tomorrow()))[0]
        assert (await book(provider, slot["id"])).status_code == 201
    assert await deliver_webhooks_due(db_pool, live_app.config) == 1

    await page.reload()
    await expect(panel.get_by_label("Signing secret")).to_be_hidden()  # shown once only
    await panel.get_by_role("button", name="Deliveries").click()
    table = panel.locator(".webhook-deliveries")
    await expect(table).to_contain_text("booking.created")
    await expect(table).to_contain_text("Delivered")
    await expect(table).to_contain_text("200")

    page.once("dialog", lambda dialog: dialog.accept())
    await panel.get_by_role("button", name="Delete").click()
    await expect(panel.locator("[data-webhook-list] li")).to_have_count(0)
    await expect(panel.locator("[data-webhook-empty]")).to_be_visible()
    response = await page.request.get("/api/providers/me/webhooks")
    assert (await response.json())["webhooks"] == []


async def _cookies(page: Page) -> dict[str, str]:
    return {cookie["name"]: cookie["value"] for cookie in await page.context.cookies()}
