"""The waitlist in a real browser: a customer joins a full day from the service page, sees a
freed time offered on their waitlist page without reloading and books it; the pages pass axe on
a desktop and on a phone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import AxeAudit
from tests.conftest import LiveApp
from tests.support.booking import free_slots
from tests.support.waitlist import a_day_ahead, cancel, fill_day, small_service

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
async def full_day(client: httpx.AsyncClient, become_provider: Any) -> dict[str, Any]:
    await become_provider()
    service = await small_service(client)
    day = a_day_ahead()
    return {"service": service, "day": day, "bookings": await fill_day(client, service["id"], day)}


async def join_from_the_service_page(page: Page, full_day: dict[str, Any], email: str) -> None:
    service, day = full_day["service"], full_day["day"]
    await page.goto(f"/services/{service['id']}?day={day.isoformat()}")
    join = page.get_by_role("button", name="Join the waitlist")
    await expect(join).to_be_visible()
    await page.get_by_label("Your name").fill("Wendy Waiter")
    await page.get_by_label("Email").fill(email)
    await join.click()
    await page.wait_for_url("**/waitlist/**")


async def test_a_customer_on_the_waitlist_page_sees_the_offer_appear_live_and_books_it(
    page: Page, live_app: LiveApp, guest: httpx.AsyncClient, full_day: dict[str, Any]
) -> None:
    await join_from_the_service_page(page, full_day, "wendy@example.com")
    status = page.locator("[data-status-area]")
    await expect(status).to_contain_text("number 1 in line")
    await expect(page.locator("[data-live-state]")).to_contain_text("Live")
    book_it = page.get_by_role("button", name="Book it")
    await expect(book_it).to_be_hidden()

    # A booking elsewhere is cancelled: the page shows the held time without a reload.
    freed = full_day["bookings"][1]
    await cancel(guest, freed)
    await expect(status).to_contain_text("A time is held for you")
    await expect(book_it).to_be_visible()
    await expect(page.locator("[data-offer-time]")).to_contain_text(
        freed.appointment["start_time"][11:16]
    )
    await expect(page.locator("[data-countdown]")).to_contain_text(":")

    await book_it.click()
    await page.wait_for_url("**/bookings/**")
    await expect(page.locator("[data-status]")).to_have_text("Awaiting confirmation")
    await expect(page.get_by_role("heading", level=1)).to_have_text(full_day["service"]["name"])


async def test_leaving_from_the_page_takes_one_click(page: Page, full_day: dict[str, Any]) -> None:
    await join_from_the_service_page(page, full_day, "leaver@example.com")
    await page.get_by_role("button", name="Leave the waitlist").click()
    await expect(page.locator("[data-status-area]")).to_contain_text("You left this waitlist")
    await expect(page.get_by_role("button", name="Leave the waitlist")).to_be_hidden()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_the_waitlist_pages_have_no_serious_accessibility_violations_and_fit_the_screen(
    viewport: str,
    page: Page,
    phone_page: Page,
    guest: httpx.AsyncClient,
    full_day: dict[str, Any],
) -> None:
    tab = phone_page if viewport == "phone" else page
    audit = AxeAudit()
    service, day = full_day["service"], full_day["day"]
    await tab.goto(f"/services/{service['id']}?day={day.isoformat()}")
    await expect(tab.get_by_role("button", name="Join the waitlist")).to_be_visible()
    await audit.check(tab, "service page, full day")
    await join_from_the_service_page(tab, full_day, f"{viewport}@example.com")
    await cancel(guest, full_day["bookings"][0])
    await expect(tab.get_by_role("button", name="Book it")).to_be_visible()
    await audit.check(tab, "waitlist page with an offer")
    assert audit.clean(), audit.report()
    overflow = await tab.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow
    assert await free_slots(guest, service["id"], day) == []
