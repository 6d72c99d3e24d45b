"""A customer in a real browser: search, watch a service's live slots, book, cancel."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests.browser.conftest import ConsoleWatch, sign_up_through_api
from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import book, create_service, free_slots, tomorrow

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")
PROVIDER_ZONE = "Europe/London"


@pytest.fixture
async def service(client: httpx.AsyncClient, become_provider: BecomeProvider) -> dict[str, Any]:
    """A free half-hour service open 09:00-17:00 every day, by 'Harbour Physio'."""
    await become_provider(business_name="Harbour Physio", timezone=PROVIDER_ZONE)
    return await create_service(
        client,
        name="Sports massage",
        description="Deep tissue massage for runners and cyclists.",
        price_cents=4500,
        location="1 Quay Street, Bristol",
    )


@pytest.fixture
async def guest(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        yield http


def wall_clock(slot: dict[str, Any]) -> str:
    """A slot's start as the provider's clock shows it, e.g. "09:30"."""
    return (
        datetime.fromisoformat(slot["start_time"])
        .astimezone(ZoneInfo(PROVIDER_ZONE))
        .strftime("%H:%M")
    )


async def slot_at(http: httpx.AsyncClient, service_id: str, day: date, hhmm: str) -> Any:
    for slot in await free_slots(http, service_id, day):
        if wall_clock(slot) == hhmm:
            return slot
    raise AssertionError(f"no free slot at {hhmm}")


async def fill_booking_form(page: Page, name: str = "Grace Hopper") -> None:
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill("grace@example.com")
    await page.get_by_label("Phone").fill("+44 20 7946 0000")
    await page.get_by_label("Notes").fill("First visit")


async def fits_the_screen(page: Page) -> None:
    sizes = await page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert sizes["scroll"] <= sizes["inner"], sizes


async def test_a_slot_booked_through_the_form_disappears_from_a_watchers_page(
    page: Page,
    browser: Browser,
    live_app: LiveApp,
    console: ConsoleWatch,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
) -> None:
    day = tomorrow(PROVIDER_ZONE)
    await page.goto(f"/services/{service['id']}?day={day}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sports massage")
    await expect(page.locator("[data-live-status]")).to_have_text("Live")
    watched = page.locator("[data-slots]").get_by_role("button", name="09:30", exact=True)
    await expect(watched).to_be_visible()
    await page.evaluate("window.notReloaded = true")
    slot_starts = {
        slot["id"]: slot["start_time"] for slot in await free_slots(guest, service["id"], day)
    }

    booker = await browser.new_context(base_url=live_app.url, timezone_id="America/New_York")
    try:
        form = await booker.new_page()
        console.attach(form)
        await form.goto(f"/services/{service['id']}?day={day}")
        await form.locator("[data-slots]").get_by_role("button", name="09:30", exact=True).click()
        await expect(form).to_have_url(re.compile(r"/book\?slot="))
        await fill_booking_form(form)
        async with form.expect_request("**/api/bookings") as sent:
            await form.get_by_role("button", name="Confirm booking").click()
        request = await sent.value
        body = request.post_data_json
        assert body is not None
        assert body["customer_timezone"] == "America/New_York"
        assert re.fullmatch(r"[0-9a-f-]{32,36}", request.headers["idempotency-key"])

        await expect(form).to_have_url(re.compile(r"/bookings/[0-9a-f-]+\?key="))
        await expect(form.locator("[data-token]")).to_have_text("You're number 2 that day.")
        in_new_york = datetime.fromisoformat(slot_starts[body["slot_id"]]).astimezone(
            ZoneInfo("America/New_York")
        )
        await expect(form.locator("[data-your-time]")).to_contain_text(
            f"{in_new_york:%H:%M} (America/New_York)"
        )
    finally:
        await booker.close()

    await expect(watched).to_have_count(0)
    await expect(page.locator("[data-slots-status]")).to_contain_text("09:30 just went")
    assert await page.evaluate("window.notReloaded") is True


async def test_search_results_follow_the_typing_and_the_url_keeps_the_search(
    page: Page, client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    await create_service(client, name="Maths tutoring", category="Education")
    await page.goto("/services")
    results = page.locator("[data-results] > li")
    await expect(results).to_have_count(2)

    await page.get_by_label("Search").press_sequentially("masage", delay=40)
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("Sports massage")
    await expect(page).to_have_url(re.compile(r"/services\?q=masage$"))
    await expect(page.locator("[data-search-status]")).to_have_text("1 service")

    await page.reload()
    await expect(page.get_by_label("Search")).to_have_value("masage")
    await expect(results).to_have_count(1)

    await page.get_by_label("Search").fill("")
    await page.get_by_label("Category").select_option("Education")
    await expect(page).to_have_url(re.compile(r"/services\?category=Education$"))
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("Maths tutoring")
    await results.first.get_by_role("link", name="Maths tutoring").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Maths tutoring")


async def test_the_form_says_at_once_when_its_slot_is_taken_and_offers_the_nearest_times(
    page: Page, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow(PROVIDER_ZONE)
    wanted = await slot_at(guest, service["id"], day, "10:00")
    await page.goto(f"/services/{service['id']}/book?slot={wanted['id']}")
    await expect(page.locator("[data-slot-when]")).to_contain_text("10:00")
    await fill_booking_form(page)

    assert (await book(guest, wanted["id"])).status_code == 201
    message = page.locator("[data-slot-message]")
    await expect(message).to_contain_text("just booked by someone else")
    await expect(message).to_have_attribute("aria-live", "assertive")
    offers = page.locator("[data-alternative-list]").get_by_role("button")
    await expect(offers).to_have_count(4)
    labels = [text.rsplit(", ", 1)[-1] for text in await offers.all_inner_texts()]
    assert labels == ["09:00", "09:30", "10:30", "11:00"]
    await expect(page.get_by_role("button", name="Confirm booking")).to_be_disabled()
    if SCREENSHOT_DIR:
        await page.screenshot(path=f"{SCREENSHOT_DIR}/desktop-book-slot-taken.png", full_page=True)

    await offers.nth(2).click()
    await expect(page.locator("[data-slot-when]")).to_contain_text("10:30")
    await expect(page).to_have_url(re.compile(r"slot=(?!" + wanted["id"] + ")"))
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page).to_have_url(re.compile(r"/bookings/"))
    await expect(page.locator("time")).to_contain_text("10:30")


async def test_a_409_on_submit_shows_the_same_message_with_alternatives(
    page: Page, guest: httpx.AsyncClient, service: dict[str, Any], console: ConsoleWatch
) -> None:
    """With the socket silenced after a stale snapshot, the server's 409 is what tells."""
    day = tomorrow(PROVIDER_ZONE)
    slots = await free_slots(guest, service["id"], day)
    wanted = slots[2]

    async def stale_socket(ws: WebSocketRoute) -> None:
        ws.send(json.dumps({"type": "snapshot", "slots": slots}))

    await page.route_web_socket(re.compile(r"/ws/services/"), stale_socket)
    console.allow("/api/bookings")
    await page.goto(f"/services/{service['id']}/book?slot={wanted['id']}")
    await fill_booking_form(page)
    assert (await book(guest, wanted["id"])).status_code == 201
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page.locator("[data-slot-message]")).to_contain_text("That slot was just booked")
    await expect(page.locator("[data-alternative-list]").get_by_role("button")).to_have_count(4)
    await expect(page).to_have_url(re.compile(r"/book\?slot="))


async def test_the_picker_reconnects_after_the_server_drops_it_and_shows_a_fresh_view(
    page: Page, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    day = tomorrow(PROVIDER_ZONE)
    taken = await slot_at(guest, service["id"], day, "11:00")
    connections: list[int] = []

    async def drop_first_then_pass_through(ws: WebSocketRoute) -> None:
        connections.append(len(connections) + 1)
        if len(connections) == 1:
            # The first socket: a stale view in which 11:00 is free, then "too far behind".
            ws.send(json.dumps({"type": "snapshot", "slots": [taken]}))
            await ws.close(code=1013, reason="Too far behind; reconnect.")
        else:
            ws.connect_to_server()

    await page.route_web_socket(re.compile(r"/ws/services/"), drop_first_then_pass_through)
    assert (await book(guest, taken["id"])).status_code == 201
    await page.goto(f"/services/{service['id']}?day={day}")
    slots = page.locator("[data-slots]").get_by_role("button")
    await expect(page.locator("[data-live-status]")).to_have_text("Live")
    await expect(slots.first).to_have_text("09:00")
    await expect(slots).to_have_count(15)
    await expect(slots.filter(has_text="11:00")).to_have_count(0)
    assert len(connections) == 2


async def test_a_signed_in_customer_finds_the_form_filled_in(
    page: Page, guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    await sign_up_through_api(page, name="Ada Lovelace", email="ada.l@example.com")
    slot = (await free_slots(guest, service["id"], tomorrow(PROVIDER_ZONE)))[0]
    await page.goto(f"/services/{service['id']}/book?slot={slot['id']}")
    await expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    await expect(page.get_by_label("Email")).to_have_value("ada.l@example.com")
    await page.get_by_label("Your name").fill("")
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page.locator("#customer_name-error")).to_have_text("Enter your name.")
    await expect(page.get_by_label("Your name")).to_be_focused()


async def test_a_customer_cancels_from_the_booking_page(
    page: Page, guest: httpx.AsyncClient, live_app: LiveApp, service: dict[str, Any]
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow(PROVIDER_ZONE)))[0]
    booked = (await book(guest, slot["id"])).json()
    await page.goto(booked["manage_url"])
    await expect(page.get_by_label("Your link to this booking")).to_have_value(booked["manage_url"])
    await page.get_by_role("button", name="Copy link").click()
    await expect(page.locator("[data-copy-status]")).not_to_be_empty()

    await page.get_by_role("button", name="Cancel booking").click()
    dialog = page.get_by_role("dialog", name="Cancel this booking?")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Keep booking").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("[data-status]")).to_have_text("Awaiting confirmation")

    await page.get_by_role("button", name="Cancel booking").click()
    await dialog.get_by_role("button", name="Yes, cancel").click()
    await expect(page.locator("[data-status]")).to_have_text("Cancelled")
    await expect(page.locator("[data-booking-message]")).to_contain_text("cancelled")
    await expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)
    key = booked["manage_url"].split("key=")[1]
    stored = await guest.get(f"/api/bookings/{slot['id']}", params={"key": key})
    assert stored.json()["appointment"]["status"] == "CANCELLED"


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_every_customer_page_fits_the_screen_without_errors(
    viewport: str,
    page: Page,
    phone_page: Page,
    guest: httpx.AsyncClient,
    service: dict[str, Any],
    client: httpx.AsyncClient,
    console: ConsoleWatch,
) -> None:
    tab = phone_page if viewport == "phone" else page
    await create_service(client, name="Maths tutoring", category="Education", price_cents=0)
    slot = (await free_slots(guest, service["id"], tomorrow(PROVIDER_ZONE)))[3]
    await sign_up_through_api(tab, name="Grace Hopper", email="grace.h@example.com")
    response = await tab.request.post(
        "/api/bookings",
        data={"slot_id": slot["id"], "customer_name": "Grace", "customer_email": "g@example.com"},
    )
    assert response.status == 201
    manage_url = (await response.json())["manage_url"]
    free = (await free_slots(guest, service["id"], tomorrow(PROVIDER_ZONE)))[0]
    console.allow("404")

    pages = [
        ("services", "/services", "Book a time that suits you"),
        ("search", "/services?q=massage", "Book a time that suits you"),
        ("service", f"/services/{service['id']}", "Sports massage"),
        ("book", f"/services/{service['id']}/book?slot={free['id']}", "Book Sports massage"),
        ("booking", manage_url, "Sports massage"),
        ("bookings", "/bookings", "Your bookings"),
        ("missing", "/services/00000000-0000-0000-0000-000000000000", "Service not found"),
    ]
    for name, path, heading in pages:
        await tab.goto(path)
        await expect(tab.get_by_role("heading", level=1)).to_contain_text(heading)
        await expect(tab.get_by_role("main")).to_be_visible()
        await tab.wait_for_load_state("networkidle")
        await fits_the_screen(tab)
        if SCREENSHOT_DIR:
            await tab.screenshot(path=f"{SCREENSHOT_DIR}/{viewport}-{name}.png", full_page=True)
