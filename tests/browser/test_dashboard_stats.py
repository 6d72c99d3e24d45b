"""The dashboard's figures and live alerts in a real browser: cards with the provider's numbers,
two twelve-bar charts, cards and alerts that follow new bookings without a reload, and a phone
layout that fits the screen (issue 8 point 2)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Locator, Page, Route, expect

from server.usecases.demo import DEMO_PASSWORD, seed_demo
from tests.browser.axe import AxeAudit
from tests.browser.conftest import ConsoleWatch, become_provider_through_api
from tests.conftest import LiveApp
from tests.support.booking import book, free_slots, service_body

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")
CLINIC = "clinic@demo.appointly.local"  # Europe/London, GBP
TUTOR = "tutor@demo.appointly.local"  # Asia/Tokyo, JPY: no minor units


@pytest.fixture
async def guest(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        yield http


@pytest.fixture
async def demo_data(live_app: LiveApp) -> None:
    """`appointly seed-demo`: three providers with weeks of past and coming bookings."""
    await seed_demo(live_app.config)


async def sign_in(page: Page, email: str) -> None:
    response = await page.request.post(
        "/api/auth/login", data={"email": email, "password": DEMO_PASSWORD}
    )
    assert response.status == 200, await response.text()


async def stats_of(page: Page) -> dict[str, Any]:
    response = await page.request.get("/api/dashboard/stats")
    assert response.status == 200, await response.text()
    stats: dict[str, Any] = await response.json()
    return stats


async def open_dashboard(page: Page) -> None:
    """The dashboard with its figures loaded once and its socket live."""
    await page.goto("/dashboard")
    await expect(page.locator("#stats")).to_have_attribute("data-state", "ready")
    await expect(page.locator("#stats")).to_have_attribute("data-stats-loads", "1")
    await expect(page.locator("[data-feed-status]")).to_have_attribute("data-state", "live")


def card(page: Page, name: str) -> Locator:
    return page.locator(f'[data-stat="{name}"] [data-stat-value]')


async def expect_counts(page: Page, stats: dict[str, Any]) -> None:
    for name, key in (
        ("week", "appointments_this_week"),
        ("month", "appointments_this_month"),
        ("completed", "completed"),
        ("no-shows", "no_shows"),
        ("cancellations", "cancellations"),
    ):
        await expect(card(page, name)).to_have_text(f"{stats[key]:,}")


async def bar_values(chart: Locator) -> list[int]:
    bars = chart.locator(".chart-bar")
    await expect(bars).to_have_count(12)
    return [
        int(value or "")
        for value in await bars.evaluate_all(
            "bars => bars.map(bar => bar.getAttribute('data-value'))"
        )
    ]


async def free_slot_this_week(guest: httpx.AsyncClient, service_id: str) -> dict[str, Any] | None:
    """A bookable slot in the current week and month in London, if any is left."""
    zone = ZoneInfo("Europe/London")
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    sunday = today + timedelta(days=6 - today.weekday())
    day = today
    while day <= sunday and day.month == today.month:
        for slot in await free_slots(guest, service_id, day):
            if datetime.fromisoformat(slot["start_time"]) > now + timedelta(minutes=5):
                return slot
        day += timedelta(days=1)
    return None


async def first_free_slot(guest: httpx.AsyncClient, service_id: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    for offset in range(1, 15):
        slots = await free_slots(guest, service_id, today + timedelta(days=offset))
        if slots:
            return slots[0]
    raise AssertionError("no free slot in the next two weeks")


async def has_no_horizontal_overflow(page: Page) -> bool:
    # Not window.innerWidth: a phone zooms out to fit a page that is too wide, and innerWidth
    # grows with it.
    assert page.viewport_size is not None
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width <= page.viewport_size["width"]


async def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{name}.png", full_page=full_page)


async def shoot_part(part: Locator, name: str) -> None:
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await part.screenshot(path=f"{SCREENSHOT_DIR}/{name}.png")


async def test_a_provider_with_past_bookings_sees_their_figures_and_twelve_bars_per_chart(
    page: Page, demo_data: None
) -> None:
    await sign_in(page, CLINIC)
    await open_dashboard(page)
    stats = await stats_of(page)

    assert stats["currency"] == "GBP"
    assert stats["completed"] > 0 and stats["earnings_this_month_cents"] > 0
    earnings = stats["earnings_this_month_cents"]
    await expect(card(page, "earnings")).to_have_text(f"£{earnings // 100:,}.{earnings % 100:02}")
    revenue = stats["revenue_cents"]
    await expect(card(page, "revenue")).to_have_text(f"£{revenue // 100:,}.{revenue % 100:02}")
    await expect_counts(page, stats)

    charts = page.locator("[data-stats-charts] figure")
    await expect(charts).to_have_count(2)
    week_chart, month_chart = charts.nth(0), charts.nth(1)
    assert await bar_values(week_chart) == [week["count"] for week in stats["per_week"]]
    assert await bar_values(month_chart) == [month["count"] for month in stats["per_month"]]
    total = sum(week["count"] for week in stats["per_week"])
    await expect(week_chart.get_by_role("img")).to_have_attribute(
        "aria-label",
        f"Appointments per week over the last 12 weeks: {total} in total; "
        f"the busiest was {await busiest_label(week_chart)}; "
        f"{stats['per_week'][-1]['count']} this week.",
    )
    # Every number is also in a (visually hidden) table for screen readers.
    await expect(month_chart.locator("table tbody tr")).to_have_count(12)
    await expect(month_chart.locator("table tbody tr").last).to_contain_text(
        str(stats["per_month"][-1]["count"])
    )
    await expect(page.get_by_role("link", name="Embed the widget")).to_have_attribute(
        "href", "/embed"
    )
    audit = AxeAudit()
    await audit.check(page, "/dashboard with figures")
    assert audit.clean(), audit.report()
    await shoot(page, "dashboard-stats-desktop")
    await shoot_part(page.locator("#stats"), "dashboard-stats-desktop-cards")
    await shoot_part(page.locator(".charts-panel"), "dashboard-stats-desktop-charts")


async def busiest_label(chart: Locator) -> str:
    """'Week of … with N', read back from the hidden table (the first of the highest)."""
    rows = await chart.locator("table tbody tr").evaluate_all(
        "rows => rows.map(row => [row.cells[0].textContent, Number(row.cells[1].textContent)])"
    )
    label, count = max(rows, key=lambda row: row[1])
    return f"{label} with {count}"


async def test_a_new_booking_raises_an_alert_and_the_cards_follow_without_a_reload(
    page: Page, demo_data: None, guest: httpx.AsyncClient
) -> None:
    await sign_in(page, CLINIC)
    response = await page.request.post("/api/services", data=service_body(name="Walk-in check"))
    assert response.status == 201, await response.text()
    service = (await response.json())["service"]
    await open_dashboard(page)
    before = await stats_of(page)

    slot = await free_slot_this_week(guest, service["id"])
    booked_this_week = slot is not None
    slot = slot or await first_free_slot(guest, service["id"])
    booking = await book(guest, slot["id"], customer_name="Live Customer")
    assert booking.status_code == 201, booking.text

    alerts = page.locator("[data-toasts] .toast")
    await expect(alerts).to_have_count(1)
    await expect(alerts.first).to_contain_text("New booking request")
    await expect(alerts.first).to_contain_text("Live Customer")
    # One refetch of the figures, and the cards show what the API now says.
    await expect(page.locator("#stats")).to_have_attribute("data-stats-loads", "2")
    after = await stats_of(page)
    if booked_this_week:
        assert after["appointments_this_week"] == before["appointments_this_week"] + 1
        assert after["appointments_this_month"] == before["appointments_this_month"] + 1
    await expect_counts(page, after)
    await shoot(page, "dashboard-stats-desktop-alert", full_page=False)
    await shoot_part(page.locator(".live-panel"), "dashboard-stats-desktop-alerts-panel")

    second = await book(guest, (await first_free_slot(guest, service["id"]))["id"])
    assert second.status_code == 201, second.text
    await expect(alerts).to_have_count(2)
    await expect(alerts.first).to_contain_text("Grace Hopper")  # newest on top
    await expect(page.locator("#stats")).to_have_attribute("data-stats-loads", "3")

    await alerts.first.get_by_role("button", name="Dismiss").click()
    await expect(alerts).to_have_count(1)
    await expect(alerts.first).to_contain_text("Live Customer")
    await page.get_by_role("button", name="Clear all").click()
    await expect(alerts).to_have_count(0)
    await expect(page.locator("[data-toasts-empty]")).to_be_visible()

    # The provider's own moves refresh the figures too (without an alert about them).
    request = page.locator(
        f'[data-pending-list] [data-appointment-id="{booking.json()["appointment"]["id"]}"]'
    )
    await request.get_by_role("button", name="Confirm").click()
    await expect(page.locator("#stats")).to_have_attribute("data-stats-loads", "4")
    await expect(alerts).to_have_count(0)


async def test_on_a_phone_the_figures_fit_and_alerts_wait_in_a_drawer(
    phone_page: Page, demo_data: None, guest: httpx.AsyncClient
) -> None:
    phone = phone_page
    await sign_in(phone, TUTOR)
    await open_dashboard(phone)
    stats = await stats_of(phone)

    assert stats["currency"] == "JPY"
    await expect(card(phone, "earnings")).to_have_text(f"¥{stats['earnings_this_month_cents']:,}")
    assert await has_no_horizontal_overflow(phone)
    for chart in await phone.locator("[data-stats-charts] figure").all():
        await expect(chart.locator(".chart-bar")).to_have_count(12)
        assert not await labels_collide_or_spill(chart), "axis labels don't fit on a phone"

    services = (await (await phone.request.get("/api/providers/me/services")).json())["services"]
    slot = await first_free_slot(guest, services[0]["id"])
    assert (await book(guest, slot["id"], customer_name="Phone Customer")).status_code == 201

    toggle = phone.locator("[data-alerts-toggle]")
    await expect(toggle).to_have_accessible_name("Live updates 1 alert")
    peeking = phone.locator("[data-toasts] .toast").first
    await expect(peeking).to_be_visible()  # peeks out above the collapsed drawer
    await expect(phone.get_by_role("button", name="Clear all")).to_be_hidden()
    await shoot(phone, "dashboard-stats-phone-peek", full_page=False)

    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(phone.get_by_role("button", name="Clear all")).to_be_visible()
    assert await has_no_horizontal_overflow(phone)
    audit = AxeAudit()
    await audit.check(phone, "/dashboard with the alerts drawer open")
    assert audit.clean(), audit.report()
    await shoot(phone, "dashboard-stats-phone-drawer", full_page=False)
    await peeking.get_by_role("button", name="Dismiss").click()
    await expect(phone.locator("[data-toasts] .toast")).to_have_count(0)
    await phone.keyboard.press("Escape")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await shoot(phone, "dashboard-stats-phone")
    await shoot_part(phone.locator(".charts-panel"), "dashboard-stats-phone-charts")


async def labels_collide_or_spill(chart: Locator) -> bool:
    """Whether two axis labels overlap, or one sticks out of the chart."""
    frame = await chart.locator("svg").bounding_box()
    assert frame is not None
    boxes: list[dict[str, float]] = await chart.locator(".chart-label").evaluate_all(
        "labels => labels.map(label => label.getBoundingClientRect().toJSON())"
    )
    boxes.sort(key=lambda box: box["left"])
    spill = boxes[0]["left"] < frame["x"] or boxes[-1]["right"] > frame["x"] + frame["width"]
    return spill or any(left["right"] > right["left"] for left, right in pairwise(boxes))


async def test_the_figures_say_when_they_cannot_load_and_load_again_on_request(
    page: Page, console: ConsoleWatch
) -> None:
    console.allow("/api/dashboard/stats")  # the browser logs the failed request
    await become_provider_through_api(page)

    async def unavailable(route: Route) -> None:
        body = {"error": {"code": "unavailable", "message": "Try again in a moment."}}
        await route.fulfill(status=503, json=body)

    await page.route("**/api/dashboard/stats", unavailable)
    await page.goto("/dashboard")
    problem = page.locator("[data-stats-status]")
    await expect(problem).to_contain_text("We couldn't load your figures. Try again in a moment.")
    await expect(page.locator("#stats")).to_have_attribute("data-state", "error")

    await page.unroute("**/api/dashboard/stats")
    await problem.get_by_role("button", name="Try again").click()
    await expect(page.locator("#stats")).to_have_attribute("data-state", "ready")
    await expect(problem).to_be_hidden()
    await expect(card(page, "week")).to_have_text("0")
    bars = page.locator("[data-stats-charts] .chart-bar")
    await expect(bars).to_have_count(24)
    await expect(page.locator("[data-stats-charts] .chart-empty")).to_have_text(
        ["No appointments yet", "No appointments yet"]
    )
    await expect(page.locator("[data-stats-charts] svg").first).to_have_attribute(
        "aria-label", "Appointments per week over the last 12 weeks: no appointments yet."
    )
