"""Every page, and the widget inside its shadow root, passes axe-core with no serious or critical
violations (WCAG 2.1 A/AA and best practice), on a desktop and, for the key pages, on a phone;
and a customer can find, choose and book a time with the keyboard alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.axe import AxeAudit
from tests.browser.conftest import ConsoleWatch, become_provider_through_api, sign_up_through_api
from tests.conftest import LiveApp, make_provider
from tests.support.booking import (
    GUEST,
    book,
    create_service,
    free_slots,
    service_body,
    tomorrow,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZONE = "Europe/London"
FOCUS_RING_WAIT_MS = 1000


@dataclass(frozen=True)
class Shop:
    """A provider's bookable service, and one slot of it still free tomorrow."""

    service_id: str
    free_slot_id: str


async def open_shop(http: httpx.AsyncClient) -> Shop:
    """Make `http` (already a provider) a service and return it with a free slot."""
    service = await create_service(
        http,
        name="Sports massage",
        description="Deep tissue massage for runners.",
        price_cents=4500,
        location="1 Quay Street, Bristol",
    )
    slots = await free_slots(http, service["id"], tomorrow(ZONE))
    return Shop(service_id=service["id"], free_slot_id=slots[-1]["id"])


async def shop_of_another_provider(live_app: LiveApp) -> Shop:
    async with live_app.client() as http:
        await make_provider(http, business_name="Harbour Physio", email="harbour@example.com")
        return await open_shop(http)


async def book_through_page(page: Page, shop: Shop) -> dict[str, Any]:
    """Book the shop's free slot with the page's cookies, so its signed-in user owns the booking."""
    response = await page.request.post(
        "/api/bookings",
        data={**GUEST, "slot_id": shop.free_slot_id},
    )
    assert response.status == 201, await response.text()
    booked: dict[str, Any] = await response.json()
    return booked


async def settle(page: Page, path: str, status: int = 200) -> None:
    response = await page.goto(path)
    assert response is not None and response.status == status, path
    await page.wait_for_load_state("networkidle")


async def audit_pages(page: Page, audit: AxeAudit, paths: list[str]) -> None:
    for path in paths:
        await settle(page, path)
        await audit.check(page, path)


def tab_for(viewport: str, page: Page, phone_page: Page) -> Page:
    return phone_page if viewport == "phone" else page


# --- Pages anyone can open --------------------------------------------------------------------


async def test_the_public_pages_have_no_serious_accessibility_violations(
    page: Page, live_app: LiveApp, console: ConsoleWatch
) -> None:
    console.allow("/api/auth/verify-email")
    console.allow("/nowhere")
    audit = AxeAudit()
    await audit_pages(
        page,
        audit,
        ["/", "/signup", "/login", "/forgot-password", "/reset-password?token=x"],
    )
    await settle(page, "/verify-email?token=x")
    await expect(page.get_by_role("heading", name="We couldn't verify your email")).to_be_visible()
    await audit.check(page, "/verify-email?token=x")
    await settle(page, "/nowhere", status=404)
    await audit.check(page, "404 page")
    assert audit.clean(), audit.report()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_finding_and_booking_a_service_has_no_serious_accessibility_violations(
    viewport: str, page: Page, phone_page: Page, live_app: LiveApp
) -> None:
    tab = tab_for(viewport, page, phone_page)
    shop = await shop_of_another_provider(live_app)
    audit = AxeAudit()
    if viewport == "phone":
        await audit_pages(tab, audit, ["/"])
    await settle(tab, "/services")
    await expect(tab.locator("[data-results] li")).to_have_count(1)
    await audit.check(tab, "/services")
    await settle(tab, f"/services/{shop.service_id}?day={tomorrow(ZONE)}")
    await expect(tab.locator("[data-live-status]")).to_have_text("Live")
    await audit.check(tab, "/services/{id}")
    await settle(tab, f"/services/{shop.service_id}/book?slot={shop.free_slot_id}")
    await audit.check(tab, "/services/{id}/book")
    await tab.get_by_role("button", name="Confirm booking").click()
    await expect(tab.locator("#customer_name-error")).not_to_be_empty()
    await audit.check(tab, "/services/{id}/book with errors")
    assert audit.clean(), audit.report()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_customers_bookings_have_no_serious_accessibility_violations(
    viewport: str, page: Page, phone_page: Page, live_app: LiveApp
) -> None:
    tab = tab_for(viewport, page, phone_page)
    shop = await shop_of_another_provider(live_app)
    await sign_up_through_api(tab, name="Grace Hopper", email="grace@example.com")
    booked = await book_through_page(tab, shop)
    audit = AxeAudit()
    await settle(tab, "/bookings")
    await expect(tab.get_by_text("Sports massage").first).to_be_visible()
    menu_item = tab.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings")
    await expect(menu_item).to_have_attribute("aria-current", "page")
    assert await tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await audit.check(tab, "/bookings")
    await tab.context.clear_cookies()
    await settle(tab, booked["manage_url"])
    await audit.check(tab, "/bookings/{id}?key=")
    assert audit.clean(), audit.report()


# --- Signed-in users and providers --------------------------------------------------------------


async def test_the_pages_of_a_user_who_is_not_a_provider_yet_have_no_serious_violations(
    page: Page,
) -> None:
    await sign_up_through_api(page, name="Ada Lovelace")
    audit = AxeAudit()
    await audit_pages(page, audit, ["/dashboard", "/onboarding"])
    assert audit.clean(), audit.report()


async def guest_books(live_app: LiveApp, service_id: str) -> None:
    async with live_app.client() as guest:
        slot = (await free_slots(guest, service_id, tomorrow(ZONE)))[0]
        response = await book(guest, slot["id"])
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_providers_pages_have_no_serious_accessibility_violations(
    viewport: str, page: Page, phone_page: Page, live_app: LiveApp
) -> None:
    tab = tab_for(viewport, page, phone_page)
    await become_provider_through_api(tab, timezone=ZONE)
    response = await tab.request.post("/api/services", data=service_body(name="Sports massage"))
    assert response.status == 201, await response.text()
    await guest_books(live_app, (await response.json())["service"]["id"])
    audit = AxeAudit()
    await settle(tab, "/dashboard")
    await expect(tab.get_by_text("Grace Hopper").first).to_be_visible()
    await audit.check(tab, "/dashboard")
    await audit_pages(tab, audit, ["/add-service"])
    await settle(tab, "/embed")
    await expect(tab.locator("appointly-widget").get_by_role("heading", level=2)).to_be_visible()
    await audit.check(tab, "/embed")
    assert audit.clean(), audit.report()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_the_service_editor_and_availability_have_no_serious_accessibility_violations(
    viewport: str, page: Page, phone_page: Page, live_app: LiveApp
) -> None:
    tab = tab_for(viewport, page, phone_page)
    await become_provider_through_api(tab, timezone=ZONE)
    response = await tab.request.post("/api/services", data=service_body(name="Sports massage"))
    assert response.status == 201, await response.text()
    service_id = (await response.json())["service"]["id"]
    await guest_books(live_app, service_id)
    day = tomorrow(ZONE).isoformat()
    audit = AxeAudit()

    await settle(tab, f"/services/{service_id}/edit")
    await expect(tab.locator("[data-preview-live] .preview-clock").first).to_be_visible()
    await audit.check(tab, "/services/{id}/edit")
    # A date closed with a booking on it: the one-day editor and the conflicts are open.
    calendar = tab.locator("[data-override-calendar]")
    if not await calendar.locator(f'[data-date="{day}"]').count():
        await calendar.get_by_role("button", name="Next month").click()
    await calendar.locator(f'[data-date="{day}"]').click()
    await tab.locator("[data-override-form] [data-day-open]").uncheck()
    await tab.get_by_role("button", name="Save this date").click()
    await expect(tab.locator("[data-conflicts]")).to_contain_text("Grace Hopper")
    await tab.get_by_role("button", name="Save changes").click()
    await expect(tab.locator("[data-save-status]")).not_to_be_empty()
    await audit.check(tab, "/services/{id}/edit with an override, conflicts and a save")

    await settle(tab, "/availability")
    await expect(tab.locator("[data-time-off-status]")).to_have_text("No time off planned.")
    await audit.check(tab, "/availability")
    await tab.get_by_label("Starts on").fill(day)
    await tab.get_by_role("button", name="Add time off").click()
    await expect(tab.locator("[data-time-off-list] li")).to_have_count(1)
    month = tab.locator("[data-month-calendar]")
    if not await month.locator(f'[data-date="{day}"]').count():
        await month.get_by_role("button", name="Next month").click()
    await month.locator(f'[data-date="{day}"]').click()
    await expect(tab.locator("[data-day-details]")).to_be_visible()
    await audit.check(tab, "/availability with time off and a day's details")
    assert audit.clean(), audit.report()


# --- The widget, inside its shadow root ------------------------------------------------------


async def test_the_widget_has_no_serious_violations_while_a_visitor_books_through_it(
    page: Page, live_app: LiveApp
) -> None:
    await become_provider_through_api(page, timezone=ZONE)
    # Open two days a week only, so the day strip also shows days with no free times.
    weekdays = {"mon": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]]}
    response = await page.request.post(
        "/api/services", data=service_body(name="Sports massage", hours=weekdays)
    )
    assert response.status == 201, await response.text()
    await settle(page, "/embed")
    widget = page.locator("appointly-widget")
    await expect(widget.get_by_role("heading", name="Sports massage")).to_be_visible()
    await expect(widget.locator("[role=status]")).to_have_text(re.compile("Live|live"))
    audit = AxeAudit()
    await audit.check(page, "widget: day strip and slots", within="appointly-widget")

    await widget.locator(".day:not(.none)").first.click()
    await widget.locator(".slot").first.click()
    await expect(widget.get_by_role("button", name="Book", exact=True)).to_be_visible()
    await audit.check(page, "widget: booking form", within="appointly-widget")

    await widget.get_by_label("Name").fill("Grace Hopper")
    await widget.get_by_label("E-mail").fill("grace@example.com")
    await widget.get_by_role("button", name="Book", exact=True).click()
    await expect(widget.get_by_role("heading", name="You're booked")).to_be_visible()
    await audit.check(page, "widget: booked", within="appointly-widget")
    assert audit.clean(), audit.report()


# --- The keyboard alone ---------------------------------------------------------------------


# The focus ring is an outline, or a brand-coloured box-shadow on the element or on a
# card around it (a search result rings its whole card with :focus-within). Buttons fade their
# ring in, so it is waited for rather than read once.
HAS_FOCUS_RING = """
el => {
  for (let node = el, up = 0; node && up < 3; node = node.parentElement, up += 1) {
    const style = getComputedStyle(node);
    if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) return true;
    if (style.boxShadow.includes("79, 70, 229")) return true;
  }
  return false;
}
"""


async def assert_focus_ring(page: Page, target: str) -> None:
    handle = await page.locator(target).first.element_handle()
    try:
        await page.wait_for_function(HAS_FOCUS_RING, arg=handle, timeout=FOCUS_RING_WAIT_MS)
    except PlaywrightTimeoutError:
        raise AssertionError(f"{target} has focus but no visible focus ring") from None


async def tab_to(page: Page, target: str, most: int = 60) -> None:
    """Press Tab until the element matching `target` has focus, and check its focus is visible."""
    element = page.locator(target).first
    await expect(element).to_be_attached()
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await element.evaluate("el => el === document.activeElement"):
            await assert_focus_ring(page, target)
            return
    raise AssertionError(f"{most} presses of Tab never reached {target}")


async def test_a_customer_can_search_choose_a_time_and_book_with_the_keyboard_alone(
    page: Page, live_app: LiveApp
) -> None:
    shop = await shop_of_another_provider(live_app)
    day = tomorrow(ZONE)
    await settle(page, "/services")

    await tab_to(page, "#q")
    await page.keyboard.type("massage")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"q=massage"))
    await tab_to(page, f"[data-service-id='{shop.service_id}'] a")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/services/{shop.service_id}$"))
    await expect(page.locator("[data-live-status]")).to_have_text("Live")

    await tab_to(page, f"[data-day='{day}']")
    await page.keyboard.press("Space")
    await expect(page.locator(f"[data-day='{day}']")).to_have_attribute("aria-pressed", "true")
    await tab_to(page, "[data-slots] button")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/book\?slot="))

    await tab_to(page, "#customer_name")
    await page.keyboard.type("Grace Hopper")
    await page.keyboard.press("Tab")
    await page.keyboard.type("grace@example.com")
    await tab_to(page, "[data-book-button]")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/bookings/[0-9a-f-]+\?key="))
