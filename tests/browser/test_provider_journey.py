"""A provider's first steps in a real browser: onboarding, a service with split hours, payouts."""

from __future__ import annotations

import asyncio
import os
import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import ConsoleWatch, become_provider_through_api, sign_up_through_api
from tests.conftest import StartApp
from tests.support.stripe_stub import StripeStandIn

pytestmark = pytest.mark.browser

ZONE = "America/New_York"
SPLIT_HOURS = [("09:00", "12:00"), ("13:00", "17:00")]
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")
HOURLY_STARTS = ["09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"]


async def sign_up_in_page(page: Page, name: str) -> None:
    await page.goto("/signup?next=/onboarding")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/onboarding$"))
    # The page's module (which preselects the device's zone) runs before DOMContentLoaded.
    await page.wait_for_load_state("domcontentloaded")


async def onboard(page: Page, business_name: str, timezone: str) -> None:
    await page.get_by_label("Business name").fill(business_name)
    await page.get_by_label("Time zone").select_option(timezone)
    await page.get_by_label("Phone").fill("+1 212 555 0100")
    await page.get_by_role("button", name="Create my business").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))


async def set_monday_split_hours_and_copy_to_weekdays(page: Page) -> None:
    monday = page.locator('[data-day="mon"]')
    await monday.get_by_label("Monday closes at").fill(SPLIT_HOURS[0][1])
    await monday.get_by_role("button", name="+ Add interval").click()
    second = monday.locator("[data-interval]").nth(1)
    await second.get_by_label("Monday opens at").fill(SPLIT_HOURS[1][0])
    await second.get_by_label("Monday closes at").fill(SPLIT_HOURS[1][1])
    await page.get_by_role("button", name="Copy Monday's hours to every open day").click()


async def fetch_json(page: Page, path: str) -> Any:
    """GET `path` from inside the page, so the request comes from the site's own origin."""
    return await page.evaluate(
        """async (path) => {
            const response = await fetch(path, { headers: { Accept: "application/json" } });
            return { status: response.status, body: await response.json() };
        }""",
        path,
    )


def wall_clock_starts_by_day(slots: list[dict[str, Any]], zone: ZoneInfo) -> dict[str, list[str]]:
    starts: dict[str, list[str]] = defaultdict(list)
    for slot in slots:
        start = datetime.fromisoformat(slot["start_time"])
        local = start.astimezone(zone)
        assert start.utcoffset() == local.utcoffset(), "times carry the provider's offset"
        assert local.date().isoformat() == slot["slot_date"]
        starts[slot["slot_date"]].append(local.strftime("%H:%M"))
    return starts


async def test_a_new_provider_publishes_split_hours_and_customers_see_slots_in_their_zone(
    page: Page,
) -> None:
    await sign_up_in_page(page, "Ada Lovelace")
    await onboard(page, "Ada's Physio", ZONE)
    await expect(page.get_by_text("Ada's Physio").first).to_be_visible()

    await page.get_by_role("link", name="Add a service").click()
    await expect(page).to_have_url(re.compile(r"/add-service$"))
    await page.get_by_label("Service name").fill("Sports massage")
    await page.get_by_label("Description").fill("Deep tissue massage for runners.")
    await page.get_by_label("Category").fill("Health")
    await page.get_by_label("Location").fill("12 Main St, Brooklyn")
    await page.get_by_label("Price").fill("45.00")
    await page.get_by_label("Currency").select_option("USD")
    await page.get_by_label("Duration (minutes)").fill("60")
    await page.get_by_label("Appointments per day (max)").fill("10")
    await set_monday_split_hours_and_copy_to_weekdays(page)
    await page.get_by_role("button", name="Publish service").click()

    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    listed = page.locator("[data-services-list] li")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Sports massage")
    await expect(listed).to_contain_text("60 min")
    service_id = await listed.get_attribute("data-service-id")
    if SCREENSHOT_DIR:
        await page.screenshot(path=f"{SCREENSHOT_DIR}/journey-dashboard.png", full_page=True)

    service = await fetch_json(page, f"/api/services/{service_id}")
    assert service["status"] == 200
    assert service["body"]["service"]["price_cents"] == 4500
    assert service["body"]["service"]["hours"]["tue"] == [list(pair) for pair in SPLIT_HOURS]
    assert "sat" not in service["body"]["service"]["hours"]

    zone = ZoneInfo(ZONE)
    first = datetime.now(zone).date() + timedelta(days=1)
    last = first + timedelta(days=7)
    slots = await fetch_json(page, f"/api/services/{service_id}/slots?from={first}&to={last}")
    assert slots["status"] == 200
    starts = wall_clock_starts_by_day(slots["body"]["slots"], zone)
    for offset in range(8):
        day = first + timedelta(days=offset)
        expected = HOURLY_STARTS if day.weekday() < 5 else []
        assert starts.get(day.isoformat(), []) == expected, day


async def test_a_zone_picked_before_the_page_script_runs_is_kept(page: Page) -> None:
    """On a slow connection the form is usable before its module has run; the device's
    zone must not then overwrite what the person picked."""
    await sign_up_through_api(page)
    script_may_load = asyncio.Event()

    async def hold_script(route: Route) -> None:
        await script_may_load.wait()
        await route.continue_()

    await page.route("**/static/js/onboarding.js", hold_script)
    await page.goto("/onboarding", wait_until="commit")
    await page.get_by_label("Business name").fill("Kiwi Physio")
    await page.get_by_label("Time zone").select_option("Pacific/Auckland")
    script_may_load.set()
    await page.wait_for_load_state("load")

    await expect(page.get_by_label("Time zone")).to_have_value("Pacific/Auckland")
    await page.get_by_role("button", name="Create my business").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    me = await fetch_json(page, "/api/providers/me")
    assert me["status"] == 200
    assert me["body"]["provider"]["timezone"] == "Pacific/Auckland"


async def test_add_service_shows_problems_next_to_the_fields(page: Page) -> None:
    await become_provider_through_api(page)
    await page.goto("/add-service")
    await page.get_by_label("Service name").fill("Haircut")
    await page.get_by_label("Price").fill("forty")
    tuesday = page.locator('[data-day="tue"]')
    await tuesday.get_by_label("Tuesday opens at").fill("15:00")
    await tuesday.get_by_label("Tuesday closes at").fill("10:00")
    await page.get_by_role("button", name="Publish service").click()

    await expect(page.locator("#price-error")).to_have_text("Enter a price like 45.00.")
    await expect(page.locator("#hours-tue-error")).to_contain_text("ends before it starts")
    await expect(page).to_have_url(re.compile(r"/add-service$"))


async def test_closing_a_day_and_removing_intervals_shapes_the_hours_sent(page: Page) -> None:
    await become_provider_through_api(page)
    await page.goto("/add-service")
    await page.get_by_label("Service name").fill("Tutoring")
    await page.get_by_label("Price").fill("0")
    for day in ("Tuesday", "Wednesday", "Thursday", "Friday"):
        await page.get_by_label(f"Open on {day}").uncheck()
    await expect(page.locator('[data-day="tue"] [data-day-body]')).to_be_hidden()
    await page.get_by_label("Open on Saturday").check()
    saturday = page.locator('[data-day="sat"]')
    await saturday.get_by_role("button", name="+ Add interval").click()
    await expect(saturday.locator("[data-interval]")).to_have_count(2)
    await saturday.get_by_role("button", name="Remove this Saturday interval").first.click()
    await expect(saturday.locator("[data-interval]")).to_have_count(1)

    async with page.expect_request("**/api/services") as sent:
        await page.get_by_role("button", name="Publish service").click()
    body = (await sent.value).post_data_json
    assert body is not None
    assert set(body["hours"]) == {"mon", "sat"}
    assert body["price_cents"] == 0
    await expect(page).to_have_url(re.compile(r"/dashboard$"))


async def test_connect_payouts_sends_the_provider_to_stripe_onboarding(
    page: Page, stripe_stand_in: StripeStandIn
) -> None:
    await become_provider_through_api(page)
    await page.route(f"{stripe_stand_in.url}/**", _stripe_hosted_page)
    await page.goto("/dashboard")
    await page.get_by_role("button", name="Connect payouts").click()
    await expect(page).to_have_url(re.compile(re.escape(stripe_stand_in.url) + "/"))


async def _stripe_hosted_page(route: Any) -> None:
    # The stand-in has no onboarding page to show; the test only checks where the browser went.
    await route.fulfill(status=200, content_type="text/html", body="<h1>Stripe</h1>")


async def test_connect_payouts_explains_when_payments_are_disabled(
    page: Page, start_app: StartApp, console: ConsoleWatch
) -> None:
    without_stripe = await start_app(stripe_secret_key=None, stripe_webhook_secret=None)
    console.allow("/api/providers/me/stripe/connect")
    await page.goto(f"{without_stripe.url}/")
    await become_provider_through_api(page, base=without_stripe.url)
    await page.goto(f"{without_stripe.url}/dashboard")
    await page.get_by_role("button", name="Connect payouts").click()
    await expect(page.locator("[data-payouts-error]")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))


async def test_pages_send_visitors_where_they_belong(page: Page) -> None:
    await page.goto("/add-service")
    await expect(page).to_have_url(re.compile(r"/login\?next=/add-service$"))
    await page.goto("/onboarding")
    await expect(page).to_have_url(re.compile(r"/signup\?next=/onboarding$"))

    await become_provider_through_api(page)
    await page.goto("/onboarding")
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await page.goto("/login")
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
