"""The landing page in a real browser: its hero is the live widget of a real service, and the
page fits a 360-pixel phone."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.axe import AxeAudit
from tests.browser.conftest import TIMEOUT_MS, ConsoleWatch
from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
# Heading levels of the page itself (the widget's live in its shadow root), in document order.
HEADING_LEVELS = "[...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => +h.tagName[1])"


@pytest.fixture
async def sports_massage(live_app: LiveApp) -> AsyncIterator[dict[str, Any]]:
    async with live_app.client() as http:
        await make_provider(http, business_name="Harbour Physio", email="harbour@example.com")
        yield await create_service(http, name="Sports massage")


@pytest.fixture
async def small_phone(
    browser: Browser, live_app: LiveApp, console: ConsoleWatch
) -> AsyncIterator[Page]:
    """A 360x740 touch screen, the narrowest the page promises to fit."""
    context = await browser.new_context(
        base_url=live_app.url,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = await context.new_page()
    console.attach(tab)
    yield tab
    await context.close()
    assert console.unexpected() == []


async def hero_widget(page: Page) -> Locator:
    """The hero's widget once its first snapshot arrived, showing tomorrow's times."""
    widget = page.locator("#hero-widget appointly-widget")
    await expect(widget.get_by_role("status")).to_have_text("Live availability")
    await widget.locator(f'button[data-date="{tomorrow().isoformat()}"]').click()
    return widget


async def shoot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{name}.png", full_page=True)


def assert_headings_never_skip_a_level(levels: list[int]) -> None:
    assert levels[0] == 1 and levels.count(1) == 1, levels
    for before, after in pairwise(levels):
        assert after <= before + 1, levels


async def test_the_hero_widget_drops_a_time_booked_elsewhere_without_a_reload(
    live_app: LiveApp, sports_massage: dict[str, Any], page: Page
) -> None:
    await page.goto("/")
    widget = await hero_widget(page)
    await expect(widget.get_by_role("heading", name="Sports massage")).to_be_visible()
    await expect(widget.get_by_text("Harbour Physio")).to_be_visible()
    await expect(widget.get_by_role("button", name="09:30", exact=True)).to_be_visible()
    await page.evaluate("window.notReloaded = true")

    async with live_app.client() as someone_else:
        slots = await free_slots(someone_else, sports_massage["id"], tomorrow())
        half_past_nine = next(s for s in slots if s["start_time"][11:16] == "09:30")
        assert (await book(someone_else, half_past_nine["id"])).status_code == 201

    await expect(widget.get_by_role("button", name="09:30", exact=True)).to_have_count(0)
    await expect(widget.get_by_role("button", name="10:00", exact=True)).to_be_visible()
    assert await page.evaluate("window.notReloaded") is True
    await shoot(page, "landing-desktop")


async def test_the_landing_page_fits_a_small_phone_with_the_live_widget(
    sports_massage: dict[str, Any], small_phone: Page
) -> None:
    await small_phone.goto("/")
    widget = await hero_widget(small_phone)
    await expect(widget.get_by_role("button", name="09:30", exact=True)).to_be_visible()
    await expect(small_phone.get_by_role("link", name="Read the API").first).to_be_visible()
    assert await small_phone.evaluate(NO_SIDEWAYS_SCROLL), "the page is wider than the screen"
    assert_headings_never_skip_a_level(await small_phone.evaluate(HEADING_LEVELS))
    audit = AxeAudit()
    await audit.check(small_phone, "/ with the live widget")
    assert audit.clean(), audit.report()
    await shoot(small_phone, "landing-phone-360")


async def test_with_no_services_the_hero_invites_providers_and_fits_a_small_phone(
    small_phone: Page,
) -> None:
    await small_phone.goto("/")
    await expect(small_phone.locator("appointly-widget")).to_have_count(0)
    add = small_phone.get_by_role("link", name="Add your first service")
    await expect(add).to_be_visible()
    await expect(add).to_have_attribute("href", "/signup?next=/onboarding")
    assert await small_phone.evaluate(NO_SIDEWAYS_SCROLL), "the page is wider than the screen"
    assert_headings_never_skip_a_level(await small_phone.evaluate(HEADING_LEVELS))
    audit = AxeAudit()
    await audit.check(small_phone, "/ with no services")
    assert audit.clean(), audit.report()
    await shoot(small_phone, "landing-phone-360-no-services")


async def test_the_comparison_table_reads_as_a_table_on_a_phone_too(small_phone: Page) -> None:
    await small_phone.goto("/")
    table = small_phone.get_by_role("table", name="Feature comparison")
    await expect(table.get_by_role("columnheader", name="Cal.com")).to_be_attached()
    row = table.get_by_role("row", name="Open source")
    await expect(row.get_by_role("cell")).to_have_count(3)
    await expect(row.get_by_role("cell").nth(2)).to_contain_text("AGPLv3")
