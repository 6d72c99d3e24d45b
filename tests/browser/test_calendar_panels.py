"""The calendar feed and busy calendars panels on /availability, in a real browser (and on a
phone-sized screen): the feed URL is shown and rotated after a confirm; a busy calendar is
added, its first fetch shown, a bad address said next to the field, and removed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, expect

from jobs.busy_calendars import sync_due_calendars
from jobs.context import JobContext
from tests.browser.conftest import ConsoleWatch, become_provider_through_api

pytestmark = pytest.mark.browser


async def test_the_feed_url_is_shown_and_a_new_one_made_after_a_confirm(
    page: Page, console: ConsoleWatch
) -> None:
    console.allow("/api/providers/me/caldav")  # the CalDAV panel's first GET: 404, none set
    await become_provider_through_api(page)
    await page.goto("/availability")
    panel = page.locator("[data-calendar-feed-panel]")
    address = panel.get_by_label("Calendar feed address")
    await expect(address).to_have_value(re.compile(r"/calendar/[0-9a-f]+\.ics$"))
    first = await address.input_value()
    feed = await page.request.get(first)
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")

    page.once("dialog", lambda dialog: dialog.accept())
    await panel.get_by_role("button", name="Make a new address").click()
    await expect(panel.locator("[data-calendar-feed-status]")).to_contain_text("New address made")
    second = await address.input_value()
    assert second != first
    assert (await page.request.get(first)).status == 404


async def test_a_busy_calendar_is_added_fetched_and_removed_on_a_phone(
    phone_page: Page, console: ConsoleWatch, job_ctx: JobContext
) -> None:
    page = phone_page
    console.allow("/api/providers/me/caldav")  # the CalDAV panel's first GET: 404, none set
    await become_provider_through_api(page)
    await page.goto("/availability")
    panel = page.locator("[data-busy-calendars-panel]")
    await expect(panel.get_by_text("No busy calendars yet.")).to_be_visible()

    console.allow("/api/providers/me/busy-calendars")  # the 422 below
    await panel.get_by_label("iCal address").fill("ftp://example.com/cal.ics")
    await panel.get_by_role("button", name="Add calendar").click()
    await expect(panel.locator("#busy_url-error")).to_contain_text("http")

    # Nothing listens on port 9: the fetch fails, and the panel says so.
    url = "http://127.0.0.1:9/work.ics"
    await panel.get_by_label("iCal address").fill(url)
    await panel.get_by_role("button", name="Add calendar").click()
    rows = panel.locator("[data-busy-calendars-list] li")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(url)
    await expect(rows.first).to_contain_text("Waiting for the first fetch")
    await sync_due_calendars(job_ctx, datetime.now(UTC))
    await expect(rows.first.get_by_role("alert")).to_contain_text("Last error", timeout=10_000)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]  # type: ignore[index]

    await rows.first.get_by_role("button", name=f"Remove {url}").click()
    await expect(rows).to_have_count(0)
    await expect(panel.get_by_text("No busy calendars yet.")).to_be_visible()
