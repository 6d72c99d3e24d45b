"""The CalDAV panel on /availability, in a real browser against a real Radicale: a wrong
password is said next to the field, connecting shows the calendar, Test says it answered, and
Disconnect removes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ConsoleWatch, become_provider_through_api
from tests.support.radicale import PASSWORD, USER, Radicale

pytestmark = pytest.mark.browser


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = Radicale(tmp_path)
    server.start()
    server.make_calendar()
    yield server
    server.stop()


async def test_a_provider_connects_tests_and_disconnects_a_caldav_calendar(
    page: Page, console: ConsoleWatch, radicale: Radicale
) -> None:
    await become_provider_through_api(page)
    await page.goto("/availability")
    panel = page.locator("[data-caldav-panel]")
    await expect(panel.get_by_role("heading", name="CalDAV calendar")).to_be_visible()
    await expect(panel.locator("[data-caldav-status]")).to_be_hidden()

    console.allow("/api/providers/me/caldav")  # the 422 of the wrong password
    await panel.get_by_label("Calendar URL").fill(radicale.calendar_url)
    await panel.get_by_label("User name").fill(USER)
    await panel.get_by_label("Password").fill("not-the-password")
    await panel.get_by_role("button", name="Connect calendar").click()
    await expect(panel.locator("#caldav_password-error")).to_contain_text("password")

    await panel.get_by_label("Password").fill(PASSWORD)
    await panel.get_by_role("button", name="Connect calendar").click()
    status = panel.locator("[data-caldav-status]")
    await expect(status).to_be_visible()
    await expect(status).to_contain_text(radicale.calendar_url)
    await expect(panel.get_by_label("Password")).to_have_value("")
    await expect(page.locator("body")).not_to_contain_text(PASSWORD)

    await panel.get_by_role("button", name="Test connection").click()
    await expect(status).to_contain_text("The calendar answered.")

    page.once("dialog", lambda dialog: dialog.accept())
    await panel.get_by_role("button", name="Disconnect").click()
    await expect(status).to_be_hidden()
    await expect(panel.locator("[data-caldav-saved]")).to_have_text("Disconnected.")
    response = await page.request.get("/api/providers/me/caldav")
    assert response.status == 404

    # A reload shows it disconnected; connected again, a reload shows it connected.
    await page.reload()
    await expect(status).to_be_hidden()
    await panel.get_by_label("Calendar URL").fill(radicale.calendar_url)
    await panel.get_by_label("User name").fill(USER)
    await panel.get_by_label("Password").fill(PASSWORD)
    await panel.get_by_role("button", name="Connect calendar").click()
    await expect(status).to_be_visible()
    await page.reload()
    await expect(status).to_contain_text(radicale.calendar_url)
