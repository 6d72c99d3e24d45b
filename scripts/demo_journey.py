"""The demo's recorded journey, for scripts/demo.py: a customer and a provider side by side.

The customer (left) goes from the landing page through search to a service's live slots,
watches a time disappear as somebody else books it, and books another; the provider (right),
signed in on the dashboard, gets the live alert, confirms the request, and the customer's
booking page shows it confirmed; then the provider's stats and charts. Both views are recorded
as video, and the README's screenshots are taken on the way (plus the stills in demo_stills).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from demo_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CUSTOMER_EMAIL,
    CUSTOMER_NAME,
    DEMO_PASSWORD,
    DESKTOP,
    PACE,
    PROVIDER_EMAIL,
    SERVICE_NAME,
    TIMEOUT_MS,
    DemoService,
    Journey,
    JourneyError,
    Recording,
    find_demo_service,
    pause,
    wall_clock,
)
from demo_stills import service_on_a_phone, widget_on_a_foreign_site
from playwright.async_api import Page, async_playwright, expect


async def sign_in_provider(page: Page, service: DemoService) -> None:
    await page.goto(f"/login?next=/dashboard%3Fdate%3D{service.day.isoformat()}")
    await page.get_by_label("Email").fill(PROVIDER_EMAIL)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/dashboard"))
    await expect(page.locator("[data-feed-status]")).to_have_attribute("data-state", "live")


async def customer_finds_the_service(journey: Journey, page: Page, service: DemoService) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await journey.shoot(page, "landing")
    await pause(2)
    await page.get_by_role("link", name="Find a service").first.click()
    await expect(page).to_have_url(re.compile(r"/services$"))
    await page.get_by_label("Search").press_sequentially("physio", delay=int(90 * PACE))
    result = page.locator("[data-results] > li").filter(has_text=SERVICE_NAME)
    await expect(result).to_have_count(1)
    await pause(1.2)
    await result.get_by_role("link", name=SERVICE_NAME).click()
    await expect(page.locator("[data-live-status]")).to_have_text("Live")
    await page.locator(f'[data-days] [data-day="{service.day.isoformat()}"]').click()
    await expect(page.locator("[data-day-heading]")).not_to_be_empty()
    await pause(1.5)


async def somebody_else_books(
    journey: Journey, http: httpx.AsyncClient, page: Page, service: DemoService
) -> str:
    """Another customer takes the third free time: it disappears from the page, live."""
    taken = service.free[2]
    time = wall_clock(taken, service.timezone)
    slot_button = page.locator("[data-slots]").get_by_role("button", name=time, exact=True)
    await expect(slot_button).to_be_visible()
    response = await http.post(
        "/api/bookings",
        json={
            "slot_id": taken["id"],
            "customer_name": "Olivia Bennett",
            "customer_email": "olivia.bennett@example.com",
        },
    )
    if response.status_code != 201:
        raise JourneyError(f"the other customer's booking failed: {response.text}")
    await expect(slot_button).to_have_count(0)
    await expect(page.locator("[data-slots-status]")).to_contain_text(f"{time} just went")
    await journey.shoot(page, "service-live-slots")
    await pause(2)
    return time


async def customer_books(journey: Journey, page: Page, service: DemoService) -> str:
    """Book the first free time through the form; the new appointment's id."""
    time = wall_clock(service.free[0], service.timezone)
    await page.locator("[data-slots]").get_by_role("button", name=time, exact=True).click()
    await expect(page).to_have_url(re.compile(r"/book\?slot="))
    typing = int(35 * PACE)
    await page.get_by_label("Your name").press_sequentially(CUSTOMER_NAME, delay=typing)
    await page.get_by_label("Email").press_sequentially(CUSTOMER_EMAIL, delay=typing)
    await page.get_by_label("Phone").fill("+44 20 7946 0123")
    await page.get_by_label("Notes").press_sequentially("Left knee, after running.", delay=typing)
    await journey.shoot(page, "booking")
    await pause(1)
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page).to_have_url(re.compile(r"/bookings/[0-9a-f-]+\?key="))
    await expect(page.locator("[data-status]").first).to_have_class(re.compile("status-pending"))
    match = re.search(r"/bookings/([0-9a-f-]+)", page.url)
    assert match is not None
    return match.group(1)


async def provider_confirms(provider: Page, appointment_id: str) -> None:
    alert = provider.locator(f'.toast[data-appointment-id="{appointment_id}"]')
    await expect(alert).to_contain_text(CUSTOMER_NAME)
    request = provider.locator(f'[data-pending-list] [data-appointment-id="{appointment_id}"]')
    await request.evaluate("item => item.scrollIntoView({block: 'center', behavior: 'smooth'})")
    await pause(2.5)
    await request.get_by_role("button", name="Confirm").click()
    row = provider.locator(f'[data-schedule-body] [data-appointment-id="{appointment_id}"]')
    await expect(row).to_have_attribute("data-status", "CONFIRMED")
    await expect(request).to_have_count(0)
    await pause(1)


async def customer_sees_it_confirmed(page: Page) -> None:
    await page.reload()
    await expect(page.locator("[data-status]").first).to_have_class(re.compile("status-confirmed"))
    await pause(2)


async def provider_stats(journey: Journey, provider: Page) -> None:
    """The stats cards at the top of the dashboard, then the charts further down."""
    await expect(provider.locator("#stats")).to_be_visible()
    await provider.evaluate("window.scrollTo({top: 0, behavior: 'smooth'})")
    await pause(1.5)
    await journey.shoot(provider, "dashboard")
    charts = provider.locator("[data-stats-charts] figure")
    await expect(charts).to_have_count(2)
    await provider.locator("[data-stats-charts]").evaluate(
        "charts => charts.scrollIntoView({block: 'center', behavior: 'smooth'})"
    )
    await pause(3.5)


async def run_journey(base_url: str, out_dir: Path, video_dir: Path) -> Recording:
    """Drive the whole journey against `base_url`; the recorded views and screenshots."""
    async with (
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        expect.set_options(timeout=TIMEOUT_MS)
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        journey = Journey(browser, base_url, out_dir, video_dir)
        try:
            service = await find_demo_service(http)
            recorded = {
                "viewport": DESKTOP,
                "record_video_dir": str(video_dir),
                "record_video_size": DESKTOP,
            }
            # Both views start recording together, so the two videos share one clock.
            customer_context = await journey.context(**recorded, timezone_id="Europe/London")
            provider_context = await journey.context(**recorded)
            customer = await journey.page(customer_context, "customer")
            provider = await journey.page(provider_context, "provider")
            try:
                await asyncio.gather(
                    sign_in_provider(provider, service),
                    customer_finds_the_service(journey, customer, service),
                )
                await somebody_else_books(journey, http, customer, service)
                appointment_id = await customer_books(journey, customer, service)
                await provider_confirms(provider, appointment_id)
                await customer_sees_it_confirmed(customer)
                await provider_stats(journey, provider)
            finally:
                await customer_context.close()
                await provider_context.close()
            videos = [await page.video.path() for page in (customer, provider) if page.video]
            await widget_on_a_foreign_site(journey, service)
            await service_on_a_phone(journey, service)
        except BaseException:
            # What the pages said is often the reason a step never happened.
            for problem in journey.problems:
                print(f"demo: {problem}", flush=True)
            raise
        finally:
            await browser.close()
    if len(videos) != 2:
        raise JourneyError("Playwright recorded no video (is ffmpeg linked? scripts/setup.sh dev)")
    return Recording(Path(videos[0]), Path(videos[1]), journey.screenshots, journey.problems)
