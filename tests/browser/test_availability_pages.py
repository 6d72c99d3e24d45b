"""A provider runs a real week from the pages: booking rules and date overrides on the service
editor (/services/{id}/edit), time off on /availability; customers read the rules where they bite.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import become_provider_through_api
from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, free_slots, service_body, slots_of, tomorrow

pytestmark = pytest.mark.browser

ZONE = "Europe/London"
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")
DAY_START = 9 * 60
DASH = "\u2013"  # the pages write ranges with an en dash


async def provider_with_service(page: Page, **changes: Any) -> dict[str, Any]:
    """Make the page's user a provider with a service open 09:00-17:00 every day, 30 minutes."""
    await become_provider_through_api(page, timezone=ZONE)
    response = await page.request.post(
        "/api/services", data=service_body(name="Sports massage", **changes)
    )
    assert response.status == 201, await response.text()
    service: dict[str, Any] = (await response.json())["service"]
    return service


async def api_json(page: Page, path: str) -> Any:
    response = await page.request.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


async def guest_books_first_free_slot(live_app: LiveApp, service_id: str, day: date) -> str:
    """A guest books `day`'s first free slot; its start as HH:MM on the provider's clock."""
    async with live_app.client() as guest:
        slot = (await free_slots(guest, service_id, day))[0]
        response = await book(guest, slot["id"])
        assert response.status_code == 201, response.text
    return str(slot["start_time"][11:16])


async def shoot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        width = page.viewport_size["width"] if page.viewport_size else 0
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{width}-{name}.png", full_page=True)


def minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


async def shown_times(times: Locator) -> list[str]:
    """Every HH:MM in a preview list."""
    return re.findall(r"\d\d:\d\d", " ".join(await times.all_inner_texts()))


async def pick_day(page: Page, calendar: Locator, day: date) -> None:
    """Click `day` in a month calendar, moving to the next month when it is there."""
    button = calendar.locator(f'[data-date="{day.isoformat()}"]')
    if not await button.count():
        await calendar.get_by_role("button", name="Next month").click()
    await button.click()


# --- The service editor ---------------------------------------------------------------------------


async def test_the_dashboard_links_each_service_to_its_editor(page: Page) -> None:
    service = await provider_with_service(page)
    await page.goto("/dashboard")
    await page.get_by_role("link", name="Edit Sports massage").click()
    await expect(page).to_have_url(re.compile(rf"/services/{service['id']}/edit$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit Sports massage")
    await expect(page.get_by_label("Service name")).to_have_value("Sports massage")
    await expect(page.get_by_label("Price")).to_have_value("0.00")


async def test_a_provider_sets_the_four_rules_in_plain_words_and_sees_the_effect_before_saving(
    page: Page,
) -> None:
    service = await provider_with_service(page)
    await page.goto(f"/services/{service['id']}/edit")
    live = page.locator("[data-preview-live]")
    draft = page.locator("[data-preview-draft]")
    await expect(live.locator(".preview-clock").first).to_be_visible()
    assert all(minutes(t) % 30 == 0 for t in await shown_times(live))

    await page.get_by_label("How far ahead customers can book").fill("60")
    await expect(page.locator("#horizon-says")).to_have_text(
        "Customers can book up to 60 days ahead."
    )
    await page.get_by_label("Minimum notice", exact=True).fill("2")
    await page.get_by_label("Minimum notice: unit").select_option("hours")
    await expect(page.locator("#notice-says")).to_have_text("Book at least 2 hours ahead.")
    await page.get_by_label("Break between appointments").fill("15")
    await expect(page.locator("#buffer-says")).to_have_text("15 minutes between clients.")
    await page.get_by_label("Free cancellation until", exact=True).fill("24")
    await page.get_by_label("Free cancellation until: unit").select_option("hours")
    await expect(page.locator("#cancel-says")).to_have_text(
        "Free cancellation until 24 hours before."
    )

    # Before saving: the preview already spaces the times 30 + 15 minutes apart.
    await expect(page.locator("[data-preview-badge]")).to_have_text("Not saved yet")
    drafted = await shown_times(draft)
    assert drafted and all((minutes(t) - DAY_START) % 45 == 0 for t in drafted), drafted
    await shoot(page, "edit-service-unsaved")

    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("[data-save-status]")).to_have_text(
        "Saved. Customers see the new times now."
    )
    await expect(page.locator("[data-preview-badge]")).to_have_text("Saved")
    saved = (await api_json(page, f"/api/services/{service['id']}"))["service"]
    assert (
        saved["horizon_days"],
        saved["min_notice_minutes"],
        saved["buffer_minutes"],
        saved["cancel_cutoff_minutes"],
    ) == (60, 120, 15, 1440)
    # What customers can book now follows the saved buffer.
    await expect(live).not_to_have_attribute("aria-busy", "true")
    await expect(live.locator(".preview-clock").first).to_be_visible()
    assert all((minutes(t) - DAY_START) % 45 == 0 for t in await shown_times(live))

    await page.reload()
    await expect(page.get_by_label("Minimum notice", exact=True)).to_have_value("2")
    await expect(page.get_by_label("Minimum notice: unit")).to_have_value("hours")
    await expect(page.get_by_label("Free cancellation until", exact=True)).to_have_value("24")


async def test_the_service_editor_changes_details_price_and_hours_and_shows_errors_by_the_fields(
    page: Page,
) -> None:
    service = await provider_with_service(page)
    await page.goto(f"/services/{service['id']}/edit")
    await page.get_by_label("Price").fill("forty")
    await page.get_by_label("Minimum notice", exact=True).fill("31")
    await page.get_by_label("Minimum notice: unit").select_option("days")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#price-error")).to_have_text("Enter a price like 45.00.")
    await expect(page.locator("#notice_amount-error")).to_have_text("At most 30 days.")

    await page.get_by_label("Price").fill("45")
    await page.get_by_label("Minimum notice", exact=True).fill("0")
    await page.get_by_label("Service name").fill("Deep tissue massage")
    await page.get_by_label("Open on Sunday").uncheck()
    async with page.expect_request(f"**/api/services/{service['id']}") as sent:
        await page.get_by_role("button", name="Save changes").click()
    body = (await sent.value).post_data_json
    # Only what changed is sent.
    assert set(body) == {"name", "price_cents", "hours"}, body
    assert body["price_cents"] == 4500 and "sun" not in body["hours"]
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit Deep tissue massage")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("[data-save-status]")).to_have_text(
        "Nothing has changed since the last save."
    )


async def test_a_provider_closes_one_date_shortens_another_and_sees_the_booking_kept(
    page: Page, live_app: LiveApp
) -> None:
    service = await provider_with_service(page)
    closed_day = tomorrow(ZONE) + timedelta(days=1)
    short_day = closed_day + timedelta(days=1)
    booked_at = await guest_books_first_free_slot(live_app, service["id"], closed_day)
    await page.goto(f"/services/{service['id']}/edit")
    panel = page.locator("[data-overrides]")
    await expect(panel.locator("[data-override-status]")).to_have_text(
        "No dates with different hours yet."
    )

    await pick_day(page, panel.locator("[data-override-calendar]"), closed_day)
    form = panel.locator("[data-override-form]")
    await expect(form.locator("[data-override-usual]")).to_contain_text(f"Usually 09:00{DASH}17:00")
    await form.locator("[data-day-open]").uncheck()
    await form.get_by_role("button", name="Save this date").click()
    await expect(form.locator("[data-override-saved]")).to_contain_text("is closed")
    conflicts = panel.locator("[data-conflicts]")
    await expect(conflicts).to_be_visible()
    await expect(conflicts).to_contain_text("Grace Hopper")
    await expect(conflicts).to_contain_text(booked_at)
    await expect(conflicts).to_be_focused()
    day_button = panel.locator(f'.cal-day[data-date="{closed_day.isoformat()}"]')
    await expect(day_button).to_have_class(re.compile(r"\bis-closed\b"))
    await expect(day_button).to_contain_text("closed on this date")
    await shoot(page, "edit-service-override")

    # The booking stays; every free slot of that date is gone, at once.
    slots = await api_json(
        page, f"/api/services/{service['id']}/slots?from={closed_day}&to={closed_day}"
    )
    assert [slot["start_time"][11:16] for slot in slots["slots"] if slot["available"]] == []

    await pick_day(page, panel.locator("[data-override-calendar]"), short_day)
    await form.locator("[data-start]").first.fill("10:00")
    await form.locator("[data-end]").first.fill("14:00")
    await form.get_by_role("button", name="Save this date").click()
    await expect(form.locator("[data-override-saved]")).to_contain_text(f"opens 10:00{DASH}14:00")
    await expect(panel.locator("[data-conflicts]")).to_be_hidden()
    items = panel.locator("[data-override-list] li")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Closed")
    await expect(items.nth(1)).to_contain_text(f"10:00{DASH}14:00")
    short = await api_json(
        page, f"/api/services/{service['id']}/slots?from={short_day}&to={short_day}"
    )
    starts = [slot["start_time"][11:16] for slot in short["slots"]]
    assert starts == ["10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30"]

    # Removing the closure brings that date's slots back.
    await items.nth(0).get_by_role("button", name=re.compile("^Remove")).click()
    await expect(items).to_have_count(1)
    listed = await api_json(page, f"/api/services/{service['id']}/date-overrides")
    assert [override["date"] for override in listed["overrides"]] == [short_day.isoformat()]
    back = await free_slots_of(page, service["id"], closed_day)
    assert len(back) == 15  # 16 a day, one booked


async def free_slots_of(page: Page, service_id: str, day: date) -> list[dict[str, Any]]:
    found = await api_json(page, f"/api/services/{service_id}/slots?from={day}&to={day}")
    return [slot for slot in found["slots"] if slot["available"]]


# --- Time off -----------------------------------------------------------------------------------


async def test_a_provider_takes_two_days_off_sees_the_booking_inside_and_removes_them(
    page: Page, live_app: LiveApp
) -> None:
    service = await provider_with_service(page)
    first = tomorrow(ZONE) + timedelta(days=2)
    last = first + timedelta(days=1)
    await guest_books_first_free_slot(live_app, service["id"], last)
    await page.goto("/availability")
    await expect(page.locator("[data-time-off-status]")).to_have_text("No time off planned.")

    await page.get_by_label("Starts on").fill(first.isoformat())
    await expect(page.get_by_label("Ends on")).to_have_value(first.isoformat())
    await page.get_by_label("Ends on").fill(last.isoformat())
    await page.get_by_label("Reason").fill("Training course")
    await page.get_by_role("button", name="Add time off").click()

    await expect(page.locator("[data-time-off-saved]")).to_contain_text("Added:")
    conflicts = page.locator("[data-conflicts]")
    await expect(conflicts).to_contain_text("Grace Hopper")
    await expect(conflicts).to_contain_text("Sports massage")
    items = page.locator("[data-time-off-list] li")
    await expect(items).to_have_count(1)
    await expect(items).to_contain_text("Training course")
    await expect(items).to_contain_text("all day")
    listed = (await api_json(page, "/api/providers/me/time-off"))["time_off"]
    zone = ZoneInfo(ZONE)
    assert [
        (
            datetime.fromisoformat(entry["starts_at"]).astimezone(zone),
            datetime.fromisoformat(entry["ends_at"]).astimezone(zone),
        )
        for entry in listed
    ] == [
        (
            datetime.combine(first, datetime.min.time(), zone),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), zone),
        )
    ]
    assert await free_slots_of(page, service["id"], first) == []
    assert await free_slots_of(page, service["id"], last) == []

    # The month shows both days closed, and says why.
    calendar = page.locator("[data-month-calendar]")
    await pick_day(page, calendar, first)
    await expect(calendar.locator(f'[data-date="{first.isoformat()}"]')).to_have_class(
        re.compile(r"\bis-closed\b")
    )
    await expect(page.locator("[data-day-notes]")).to_contain_text(
        "Time off all day (Training course)."
    )
    await shoot(page, "availability-time-off")

    await items.get_by_role("button", name=re.compile("^Remove")).click()
    await expect(items).to_have_count(0)
    await expect(page.locator("[data-time-off-status]")).to_have_text(
        "Time off removed: its free times are back."
    )
    assert (await api_json(page, "/api/providers/me/time-off"))["time_off"] == []
    assert len(await free_slots_of(page, service["id"], first)) == 16
    await expect(calendar.locator(f'[data-date="{first.isoformat()}"]')).not_to_have_class(
        re.compile(r"\bis-closed\b")
    )


async def test_on_a_phone_a_provider_takes_an_afternoon_off(phone_page: Page) -> None:
    page = phone_page
    service = await provider_with_service(page)
    day = tomorrow(ZONE) + timedelta(days=1)
    await page.goto("/availability")
    await expect(page.locator("[data-time-off-status]")).to_have_text("No time off planned.")
    await page.get_by_label("Starts on").fill(day.isoformat())
    await page.get_by_label("Start time").fill("13:00")
    await page.get_by_label("End time").fill("17:00")
    await page.get_by_role("button", name="Add time off").click()
    await expect(page.locator("[data-time-off-list] li")).to_contain_text(f"13:00{DASH}17:00")
    await expect(page.locator("[data-time-off-saved]")).to_contain_text(
        "No bookings were affected."
    )
    free = [slot["start_time"][11:16] for slot in await free_slots_of(page, service["id"], day)]
    assert free == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await shoot(page, "availability-phone")


async def test_time_off_that_ends_before_it_starts_is_refused_next_to_the_field(
    page: Page,
) -> None:
    await provider_with_service(page)
    await page.goto("/availability")
    day = tomorrow(ZONE)
    await page.get_by_role("button", name="Add time off").click()
    await expect(page.locator("#starts_on-error")).to_have_text("Choose the first day.")
    await expect(page.get_by_label("Starts on")).to_be_focused()
    await page.get_by_label("Starts on").fill(day.isoformat())
    await page.get_by_label("Start time").fill("15:00")
    await page.get_by_label("End time").fill("11:00")
    await page.get_by_role("button", name="Add time off").click()
    await expect(page.locator("#ends_at_time-error")).to_have_text(
        "The time off must end after it starts."
    )
    assert (await api_json(page, "/api/providers/me/time-off"))["time_off"] == []


# --- The rules where customers meet them ------------------------------------------------------


async def test_customers_read_the_notice_and_the_cancellation_cut_off_where_they_book(
    page: Page, live_app: LiveApp
) -> None:
    async with live_app.client() as owner:
        await make_provider(owner, business_name="Harbour Physio", email="harbour@example.com")
        response = await owner.post(
            "/api/services",
            json=service_body(
                name="Sports massage", min_notice_minutes=120, cancel_cutoff_minutes=1440
            ),
        )
        assert response.status_code == 201, response.text
        service_id = response.json()["service"]["id"]
        later = tomorrow(ZONE) + timedelta(days=2)
        slot = (await slots_of(owner, service_id, later))[0]
    await page.goto(f"/services/{service_id}")
    rules = page.locator("[data-rules]")
    await expect(rules).to_contain_text("Book at least 2 hours ahead")
    await expect(rules).to_contain_text("Free cancellation until 24 hours before")
    await page.goto(f"/services/{service_id}/book?slot={slot['id']}")
    note = page.locator("[data-cancel-rule]")
    await expect(note).to_contain_text("Free cancellation until 24 hours before: until")
    # 24 hours before the 09:00 start.
    assert slot["start_time"][11:16] == "09:00"
    await expect(note).to_contain_text("09:00")
    await expect(page.locator(".rule-note")).to_contain_text("Book at least 2 hours ahead.")
    await shoot(page, "book-rules")


async def test_the_widget_tells_visitors_the_notice_and_the_cancellation_cut_off(
    page: Page,
) -> None:
    await provider_with_service(page, min_notice_minutes=120, cancel_cutoff_minutes=1440)
    await page.goto("/embed")
    widget = page.locator("appointly-widget")
    await expect(widget.locator("[data-rules]")).to_have_text(
        "Book at least 2 hours ahead · Free cancellation until 24 hours before"
    )


async def test_the_booking_form_says_so_when_its_time_comes_inside_the_minimum_notice(
    page: Page, live_app: LiveApp
) -> None:
    async with live_app.client() as owner:
        await make_provider(owner, business_name="Harbour Physio", email="harbour@example.com")
        service = (await owner.post("/api/services", json=service_body(name="Massage"))).json()
        service_id = service["service"]["id"]
        slot = (await free_slots(owner, service_id, tomorrow(ZONE)))[0]
        await page.goto(f"/services/{service_id}/book?slot={slot['id']}")
        await page.get_by_label("Your name").fill("Grace Hopper")
        await page.get_by_label("Email").fill("grace@example.com")
        # The provider now asks for two days' notice: tomorrow is too soon.
        changed = await owner.patch(
            f"/api/services/{service_id}", json={"min_notice_minutes": 2880}
        )
        assert changed.status_code == 200, changed.text
    message = page.locator("[data-slot-message]")
    # Whether the live feed or the refused booking tells the form first, it says why.
    await page.locator("[data-book-form]").evaluate("form => form.requestSubmit()")
    await expect(message).to_contain_text("Please choose another time.")
    await expect(message).to_contain_text("at least 2 days ahead")
    await expect(page.locator("[data-alternatives]")).to_be_visible()


async def test_the_service_editor_calendar_shows_the_businesss_time_off(page: Page) -> None:
    service = await provider_with_service(page)
    day = tomorrow(ZONE) + timedelta(days=1)
    added = await page.request.post(
        "/api/providers/me/time-off",
        data={"starts_at": f"{day}T00:00", "ends_at": f"{day + timedelta(days=1)}T00:00"},
    )
    assert added.status == 201, await added.text()
    await page.goto(f"/services/{service['id']}/edit")
    calendar = page.locator("[data-override-calendar]")
    if not await calendar.locator(f'[data-date="{day}"]').count():
        await calendar.get_by_role("button", name="Next month").click()
    marked = calendar.locator(f'[data-date="{day}"]')
    await expect(marked).to_have_class(re.compile(r"\bis-closed\b"))
    await expect(marked).to_contain_text("time off all day")
