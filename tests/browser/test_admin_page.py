"""The operator's /admin page on a phone, in a real browser: the stuck e-mail, the failing
webhook and busy calendar are listed without overflowing the screen, "Retry" queues the e-mail
again, and axe finds nothing serious."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from jobs.busy_calendars import sync_due_calendars
from jobs.webhooks import deliver_webhooks
from server.notifications.delivery import MAX_ATTEMPTS, deliver_due
from tests.browser.axe import AxeAudit
from tests.browser.conftest import PHONE, ConsoleWatch, _open_page
from tests.conftest import LiveApp, Mailbox, StartApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.serving import free_port
from tests.test_admin import OPERATOR, sign_up, verify_address

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture(scope="session")
async def operator_app(start_app: StartApp) -> LiveApp:
    return await start_app(admin_emails=frozenset({OPERATOR}))


@pytest.fixture
async def operator_phone(
    browser: Browser, operator_app: LiveApp, console: ConsoleWatch, mailbox: Mailbox
) -> AsyncIterator[Page]:
    """A phone-sized page signed in as the verified operator."""
    context, page = await _open_page(browser, operator_app, console, **PHONE)
    async with operator_app.client() as http:
        await sign_up(http, OPERATOR)
        await verify_address(operator_app, http, mailbox)
        await context.add_cookies(
            [
                {"name": name, "value": value, "url": operator_app.url}
                for name, value in http.cookies.items()
            ]
        )
    mailbox.messages.clear()
    yield page
    await context.close()
    assert console.unexpected() == []


async def make_failures(live: LiveApp, job_ctx: dict[str, Any]) -> None:
    """A booking whose two e-mails failed every attempt, a webhook and a busy calendar that
    point where nothing listens."""
    nobody = f"http://127.0.0.1:{free_port()}"
    async with live.client() as provider:
        await make_provider(provider, business_name="Ada's Clinic")
        service = await create_service(provider)
        saved = await provider.put(
            "/api/providers/me/busy-calendars",
            json={"urls": [f"{nobody}/a-very-long-private-feed-token-0123456789/basic.ics"]},
        )
        assert saved.status_code == 200, saved.text
        hook = await provider.post(
            "/api/providers/me/webhooks",
            json={"url": f"{nobody}/hooks/secret", "events": ["booking.created"]},
        )
        assert hook.status_code == 201, hook.text
        slot = (await free_slots(provider, service["id"], tomorrow()))[0]
    async with live.client() as guest:
        assert (await book(guest, slot["id"])).status_code == 201
    pool = live.app.extensions["appointly"].pool
    moment = datetime.now(UTC)
    for _ in range(MAX_ATTEMPTS):
        await deliver_due(pool, live.config.with_changes(smtp_port=free_port()), now=moment)
        moment += timedelta(hours=1)
    await sync_due_calendars(job_ctx)
    await deliver_webhooks(job_ctx)


async def test_the_operator_sees_what_failed_and_retries_an_email_on_a_phone(
    operator_phone: Page, operator_app: LiveApp, job_ctx: dict[str, Any], mailbox: Mailbox
) -> None:
    page = operator_phone
    await make_failures(operator_app, job_ctx)

    await page.goto("/admin")
    await expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    messages = page.locator("[data-message]")
    await expect(messages).to_have_count(2)
    await expect(page.locator("[data-stat=failed-messages]")).to_have_text("2")
    await expect(page.locator("[data-webhook-delivery]")).to_contain_text("booking.created")
    await expect(page.locator("[data-calendar-error=busy_feed]")).to_contain_text("Ada's Clinic")
    assert "private-feed-token" not in await page.content()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await page.screenshot(path=f"{SCREENSHOT_DIR}/phone-admin.png", full_page=True)

    provider_mail = messages.filter(has_text="booking_new")
    await provider_mail.get_by_role("button", name="Retry").click()
    await expect(provider_mail.get_by_role("button", name="Queued again")).to_be_disabled()
    await expect(provider_mail.locator("[data-message-status]")).to_contain_text("queued again")
    pool = operator_app.app.extensions["appointly"].pool
    assert await deliver_due(pool, operator_app.config) == 1
    await mailbox.wait_for(lambda message: message["To"] == "ada@example.com")

    await page.reload()
    await expect(page.locator("[data-message]")).to_have_count(1)
    audit = AxeAudit()
    await audit.check(page, "/admin")
    assert audit.clean(), audit.report()


async def test_a_signed_in_customer_sees_a_plain_404_page(
    phone_page: Page, console: ConsoleWatch
) -> None:
    console.allow("/admin")  # the 404 answer itself
    await phone_page.request.post(
        "/api/auth/signup",
        data={"email": "ada@example.com", "password": "correct horse", "name": "Ada"},
    )
    response = await phone_page.goto("/admin")
    assert response is not None and response.status == 404
    await expect(phone_page.get_by_role("heading", name="Page not found")).to_be_visible()
