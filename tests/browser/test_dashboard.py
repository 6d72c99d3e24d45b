"""The provider dashboard in a real browser: live requests, answering them, the day picker, and
a page that recovers by itself when its socket drops."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from server.notifications.delivery import deliver_due
from tests.browser.conftest import become_provider_through_api
from tests.conftest import LiveApp, Mailbox
from tests.support.booking import book, free_slots, service_body, tomorrow

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture
async def guest(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        yield http


async def provider_with_service(page: Page) -> dict[str, Any]:
    """Make the page's user a provider with one free service; the Service JSON."""
    await become_provider_through_api(page)
    response = await page.request.post("/api/services", data=service_body())
    assert response.status == 201, await response.text()
    service: dict[str, Any] = (await response.json())["service"]
    return service


async def book_slot(guest: httpx.AsyncClient, service: dict[str, Any], index: int) -> Any:
    slot = (await free_slots(guest, service["id"], tomorrow()))[index]
    response = await book(guest, slot["id"], customer_name=f"Customer {index}")
    assert response.status_code == 201, response.text
    return response.json()


async def open_dashboard_on_tomorrow(page: Page) -> None:
    await page.goto(f"/dashboard?date={tomorrow().isoformat()}")
    await expect(page.locator("[data-feed-status]")).to_have_attribute("data-state", "live")


async def shoot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{name}.png", full_page=True)


async def test_a_booking_appears_live_and_confirming_it_reaches_the_customer(
    page: Page,
    browser: Browser,
    live_app: LiveApp,
    guest: httpx.AsyncClient,
    mailbox: Mailbox,
    db_pool: Any,
) -> None:
    service = await provider_with_service(page)
    await open_dashboard_on_tomorrow(page)
    await expect(page.locator("[data-pending-status]")).to_have_text(
        "No requests waiting for an answer."
    )

    booking = await book_slot(guest, service, 0)
    appointment_id = booking["appointment"]["id"]

    request = page.locator(f'[data-pending-list] [data-appointment-id="{appointment_id}"]')
    await expect(request).to_contain_text("Customer 0")
    await expect(page.locator("[data-pending-count]")).to_have_text("1")
    toast = page.locator(".toast").first
    await expect(toast).to_contain_text("New booking request")
    await expect(toast).to_contain_text("Customer 0")
    row = page.locator(f'[data-schedule-body] [data-appointment-id="{appointment_id}"]')
    await expect(row).to_have_attribute("data-status", "PENDING")
    await shoot(page, "dashboard-desktop-pending")

    await request.get_by_role("button", name="Confirm").click()

    await expect(row).to_have_attribute("data-status", "CONFIRMED")
    await expect(row).to_contain_text("Confirmed")
    await expect(request).to_have_count(0)
    await expect(page.locator(".toast")).to_have_count(1)  # no alert about our own move
    key = parse_qs(urlsplit(booking["manage_url"]).query)["key"][0]
    seen = await guest.get(f"/api/bookings/{appointment_id}", params={"key": key})
    assert seen.json()["appointment"]["status"] == "CONFIRMED"
    customer_context = await browser.new_context(base_url=live_app.url)
    customer_page = await customer_context.new_page()
    await customer_page.goto(f"/bookings/{appointment_id}?key={key}")
    await expect(customer_page.locator("[data-status]").first).to_contain_text("Confirmed")
    await customer_context.close()

    await deliver_due(db_pool, live_app.config)
    email = await mailbox.wait_for(
        lambda message: (
            message["To"] == "grace@example.com" and message["Subject"].startswith("Confirmed")
        )
    )
    assert "confirmed your booking" in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_the_page_recovers_when_its_socket_drops(
    page: Page, guest: httpx.AsyncClient
) -> None:
    service = await provider_with_service(page)
    await open_dashboard_on_tomorrow(page)
    feed_status = page.locator("[data-feed-status]")

    # Down for a while: what was booked meanwhile shows up once the page is back.
    await page.evaluate("window.providerFeed.stop()")
    await expect(feed_status).to_have_attribute("data-state", "off")
    missed = (await book_slot(guest, service, 0))["appointment"]["id"]
    await page.evaluate("window.providerFeed.start()")
    await expect(feed_status).to_have_attribute("data-state", "live")
    await expect(
        page.locator(f'[data-pending-list] [data-appointment-id="{missed}"]')
    ).to_be_visible()

    # A dropped connection comes back by itself, and live alerts flow again.
    await page.evaluate("window.providerFeed.socket.close()")
    await expect(feed_status).to_have_attribute("data-state", "reconnecting")
    await expect(feed_status).to_have_attribute("data-state", "live")
    later = (await book_slot(guest, service, 1))["appointment"]["id"]
    await expect(
        page.locator(f'[data-pending-list] [data-appointment-id="{later}"]')
    ).to_be_visible()
    await expect(page.locator(f'.toast[data-appointment-id="{later}"]')).to_be_visible()


async def test_rejecting_asks_for_a_reason_and_the_day_stays_in_the_url(
    phone_page: Page, guest: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    phone = phone_page
    service = await provider_with_service(phone)
    rejected = (await book_slot(guest, service, 0))["appointment"]["id"]
    kept = (await book_slot(guest, service, 1))["appointment"]["id"]
    await open_dashboard_on_tomorrow(phone)

    item = phone.locator(f'[data-pending-list] [data-appointment-id="{rejected}"]')
    await item.get_by_role("button", name="Reject").click()
    dialog = phone.get_by_role("dialog")
    await expect(dialog).to_contain_text("Reject this booking request?")
    await dialog.get_by_label("Reason").fill("We are closed for training that day.")
    await shoot(phone, "dashboard-phone-reject-dialog")
    await dialog.get_by_role("button", name="Reject booking").click()

    row = phone.locator(f'[data-schedule-body] [data-appointment-id="{rejected}"]')
    await expect(row).to_have_attribute("data-status", "REJECTED")
    await expect(item).to_have_count(0)
    reason = await db.fetchval(
        "SELECT reason FROM appointment_events WHERE appointment_id = $1::uuid "
        "AND to_status = 'REJECTED'",
        rejected,
    )
    assert reason == "We are closed for training that day."

    # Backing out of the dialog changes nothing.
    other = phone.locator(f'[data-pending-list] [data-appointment-id="{kept}"]')
    await other.get_by_role("button", name="Reject").click()
    await dialog.get_by_role("button", name="Keep the request").click()
    await expect(other).to_be_visible()
    await shoot(phone, "dashboard-phone")

    day = tomorrow()
    await phone.get_by_role("button", name="Next day").click()
    await expect(phone).to_have_url(re.compile(rf"\?date={day + timedelta(days=1)}$"))
    await expect(phone.locator("[data-schedule-status]")).to_have_text("No bookings on this day.")
    await phone.go_back()
    await expect(phone).to_have_url(re.compile(rf"\?date={day.isoformat()}$"))
    await expect(row).to_be_visible()


async def test_a_started_confirmed_booking_can_be_marked_completed_or_a_no_show(
    page: Page, guest: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    service = await provider_with_service(page)
    came = (await book_slot(guest, service, 0))["appointment"]["id"]
    absent = (await book_slot(guest, service, 1))["appointment"]["id"]
    for appointment_id in (came, absent):
        assert (await page.request.post(f"/api/appointments/{appointment_id}/confirm")).ok
    await db.execute(
        """
        UPDATE appointments
           SET starts_at = starts_at - interval '2 days',
               ends_at = ends_at - interval '2 days',
               slot_date = slot_date - 2
         WHERE id = ANY($1::uuid[])
        """,
        [came, absent],
    )
    await page.goto(f"/dashboard?date={tomorrow() - timedelta(days=2)}")
    came_row = page.locator(f'[data-schedule-body] [data-appointment-id="{came}"]')
    absent_row = page.locator(f'[data-schedule-body] [data-appointment-id="{absent}"]')
    await came_row.get_by_role("button", name="Completed").click()
    await absent_row.get_by_role("button", name="No-show").click()
    await expect(came_row).to_have_attribute("data-status", "COMPLETED")
    await expect(absent_row).to_have_attribute("data-status", "NO_SHOW")
    await expect(came_row.get_by_role("button")).to_have_count(0)
    await shoot(page, "dashboard-desktop-past-day")


async def test_a_long_list_of_requests_shows_the_soonest_five_until_asked_for_all(
    page: Page, guest: httpx.AsyncClient
) -> None:
    service = await provider_with_service(page)
    for _ in range(7):
        await book_slot(guest, service, 0)  # each time the next free slot of the day
    await open_dashboard_on_tomorrow(page)
    requests = page.locator("[data-pending-list] > li")
    await expect(page.locator("[data-pending-count]")).to_have_text("7")
    await expect(requests).to_have_count(5)
    await page.get_by_role("button", name="Show all 7 requests").click()
    await expect(requests).to_have_count(7)
    await page.get_by_role("button", name="Show fewer").click()
    await expect(requests).to_have_count(5)
