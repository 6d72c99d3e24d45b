"""Every page loads cleanly, on a desktop and on a phone, and the landing page leads somewhere."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ConsoleWatch, become_provider_through_api, sign_up_through_api
from tests.conftest import LiveApp
from tests.support.booking import service_body

pytestmark = pytest.mark.browser

# Set SCREENSHOT_DIR to keep a picture of each page the phone test visits.
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


async def assert_fits_the_screen(page: Page, width: int) -> None:
    sizes = await page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert sizes["scroll"] <= sizes["inner"], sizes
    assert sizes["scroll"] <= width, sizes


async def visit(page: Page, path: str, heading: str, width: int) -> None:
    response = await page.goto(path)
    assert response is not None and response.status == 200, path
    await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    await page.wait_for_load_state("networkidle")
    await assert_fits_the_screen(page, width)
    if SCREENSHOT_DIR:
        name = path.strip("/").replace("/", "_") or "landing"
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{width}-{name}.png", full_page=True)


async def test_the_landing_page_sells_live_availability(page: Page) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("always up to date")
    await expect(page.get_by_text("never be double-booked")).to_be_visible()
    await expect(page.get_by_role("heading", name="For customers")).to_be_visible()
    await expect(page.get_by_role("heading", name="For providers")).to_be_visible()


async def test_find_a_service_leads_to_the_service_search(page: Page) -> None:
    await page.goto("/")
    find = page.locator("[data-cta=find]")
    await expect(find).to_have_text("Find a service")
    await expect(find).to_have_attribute("href", "/services")


async def test_become_a_provider_leads_a_visitor_through_sign_up_to_onboarding(
    page: Page,
) -> None:
    await page.goto("/")
    await page.locator("[data-cta=provider]").click()
    await expect(page).to_have_url(re.compile(r"/signup\?next=/onboarding$"))
    await page.get_by_label("Your name").fill("Ada")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/onboarding$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Set up your business")


async def test_become_a_provider_takes_a_signed_in_user_straight_to_onboarding(
    page: Page,
) -> None:
    await sign_up_through_api(page)
    await page.goto("/")
    await page.locator("[data-cta=provider]").click()
    await expect(page).to_have_url(re.compile(r"/onboarding$"))


async def test_onboarding_defaults_to_the_devices_time_zone(
    browser: Browser, live_app: LiveApp, console: ConsoleWatch
) -> None:
    context = await browser.new_context(base_url=live_app.url, timezone_id="Asia/Tokyo")
    try:
        tab = await context.new_page()
        console.attach(tab)
        await sign_up_through_api(tab)
        await tab.goto("/onboarding")
        await expect(tab.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    finally:
        await context.close()
    assert console.unexpected() == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_every_page_loads_without_errors_and_fits_the_screen(
    viewport: str, page: Page, phone_page: Page
) -> None:
    tab, width = (phone_page, 390) if viewport == "phone" else (page, 1280)
    await visit(tab, "/", "always up to date", width)
    await visit(tab, "/signup", "Create your account", width)
    await visit(tab, "/login", "Welcome back", width)

    await sign_up_through_api(tab, name="Ada Lovelace")
    await visit(tab, "/dashboard", "Hello, Ada Lovelace", width)
    await visit(tab, "/onboarding", "Set up your business", width)

    await tab.context.clear_cookies()
    await become_provider_through_api(tab, email="grace@example.com")
    await visit(tab, "/dashboard", "Hello, Ada Lovelace", width)
    await expect(tab.locator("[data-services-status]")).to_contain_text("No services yet")
    await visit(tab, "/add-service", "Add a service", width)

    created = await tab.request.post("/api/services", data=service_body(name="Sports massage"))
    assert created.status == 201, await created.text()
    service_id = (await created.json())["service"]["id"]
    await visit(tab, f"/services/{service_id}/edit", "Edit Sports massage", width)
    await expect(tab.locator("[data-preview-live] .preview-clock").first).to_be_visible()
    await visit(tab, "/availability", "Availability", width)
    await expect(tab.locator("[data-time-off-status]")).to_have_text("No time off planned.")


async def test_an_unknown_page_shows_the_styled_error_page(
    page: Page, console: ConsoleWatch
) -> None:
    console.allow("/nowhere")
    response = await page.goto("/nowhere")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not Found")
    await expect(page.get_by_role("link", name="Back to Appointly")).to_have_attribute("href", "/")
