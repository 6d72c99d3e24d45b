"""Rescheduling in a real browser: the customer moves their booking from its page with the live
picker, and the provider moves one from the dashboard; both accessible, on a phone too."""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import AxeAudit
from tests.browser.conftest import ConsoleWatch, become_provider_through_api
from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, create_service, free_slots, service_body, tomorrow

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZONE = "Europe/London"
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


def wall_clock(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(ZONE)).strftime("%H:%M")


async def shoot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{name}.png", full_page=True)


async def fits_the_screen(page: Page) -> None:
    sizes = await page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert sizes["scroll"] <= sizes["inner"], sizes


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_customer_reschedules_from_the_booking_page(
    viewport: str,
    page: Page,
    phone_page: Page,
    live_app: LiveApp,
    console: ConsoleWatch,
) -> None:
    tab = phone_page if viewport == "phone" else page
    async with live_app.client() as provider, live_app.client() as guest:
        await make_provider(provider, business_name="Harbour Physio", timezone=ZONE)
        service = await create_service(
            provider, name="Sports massage", min_notice_minutes=60, cancel_cutoff_minutes=120
        )
        slots = await free_slots(guest, service["id"], tomorrow(ZONE))
        booked = (await book(guest, slots[0]["id"])).json()
        target = slots[4]
    appointment_id = booked["appointment"]["id"]

    await tab.goto(booked["manage_url"])
    section = tab.get_by_role("region", name="Reschedule")
    await expect(section).to_contain_text("Book at least 1 hour ahead")
    await expect(section).to_contain_text("until")
    await section.get_by_role("button", name="Choose a new time").click()
    await expect(section.locator("[data-live-status]")).to_have_attribute("data-state", "live")
    await section.locator(f'[data-day="{tomorrow(ZONE).isoformat()}"]').click()
    times = section.locator("[data-slots]")
    # The booking's own time is not offered back to it.
    await expect(times.get_by_role("button", name=wall_clock(target["start_time"]))).to_be_visible()
    await expect(
        times.get_by_role("button", name=wall_clock(slots[0]["start_time"]))
    ).to_have_count(0)
    audit = AxeAudit()
    await audit.check(tab, "/bookings/{id}?key= (Reschedule open)")
    await fits_the_screen(tab)

    await times.get_by_role("button", name=wall_clock(target["start_time"])).click()
    await shoot(tab, f"reschedule-{viewport}")
    await section.get_by_role("button", name="Move my booking").click()

    message = tab.locator("[data-booking-message]")
    await expect(message).to_contain_text("Your booking is moved to")
    await expect(tab.locator("[data-status]")).to_have_text("Awaiting confirmation")
    await expect(tab.locator("[data-when]")).to_contain_text(wall_clock(target["start_time"]))
    await audit.check(tab, "/bookings/{id}?key= (moved)")
    assert audit.clean(), audit.report()
    async with live_app.client() as http:
        key = booked["manage_url"].split("key=")[1]
        moved = (await http.get(f"/api/bookings/{appointment_id}", params={"key": key})).json()
    assert moved["appointment"]["start_time"] == target["start_time"]
    assert console.unexpected() == []


async def test_a_provider_moves_a_booking_from_the_dashboard(
    phone_page: Page, live_app: LiveApp, console: ConsoleWatch
) -> None:
    phone = phone_page
    await become_provider_through_api(phone)
    response = await phone.request.post("/api/services", data=service_body())
    assert response.status == 201, await response.text()
    service: dict[str, Any] = (await response.json())["service"]
    async with live_app.client() as guest:
        slots = await free_slots(guest, service["id"], tomorrow())
        booked = (await book(guest, slots[0]["id"], customer_name="Customer Zero")).json()
    appointment_id = booked["appointment"]["id"]
    target = slots[6]
    assert (await phone.request.post(f"/api/appointments/{appointment_id}/confirm")).ok

    await phone.goto(f"/dashboard?date={tomorrow().isoformat()}")
    await expect(phone.locator("[data-feed-status]")).to_have_attribute("data-state", "live")
    row = phone.locator(f'[data-schedule-body] [data-appointment-id="{appointment_id}"]')
    await row.get_by_role("button", name=re.compile("^Move")).click()
    dialog = phone.get_by_role("dialog", name="Move this booking")
    await expect(dialog.locator("[data-live-status]")).to_have_attribute("data-state", "live")
    audit = AxeAudit()
    await audit.check(phone, "/dashboard (Move dialog)")
    await dialog.locator(f'[data-day="{tomorrow().isoformat()}"]').click()
    await (
        dialog.locator("[data-slots]")
        .get_by_role("button", name=wall_clock(target["start_time"]))
        .click()
    )
    await shoot(phone, "dashboard-move-dialog")
    await dialog.get_by_role("button", name=re.compile("^Move to")).click()

    await expect(dialog).to_be_hidden()
    await expect(row.locator("th")).to_contain_text(wall_clock(target["start_time"]))
    await expect(row).to_have_attribute("data-status", "CONFIRMED")
    assert audit.clean(), audit.report()
    schedule = await phone.request.get(f"/api/dashboard/schedule?date={tomorrow().isoformat()}")
    [moved] = [
        item for item in (await schedule.json())["appointments"] if item["id"] == appointment_id
    ]
    assert moved["start_time"] == target["start_time"]
    assert console.unexpected() == []
