"""Browser fixtures: one headless Chromium for the run, a fresh context and page per test.

Everything is async and runs on the run's one event loop, beside the app under test. Each
page records console errors and uncaught exceptions; a test fails if any were not expected
(a Content-Security-Policy violation, such as an inline script or style, is a console error).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

if TYPE_CHECKING:
    from tests.conftest import LiveApp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TIMEOUT_MS = 10_000


@dataclass
class ConsoleWatch:
    """Console errors and page errors seen by a test's pages."""

    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} [{where}]")

    def allow(self, fragment: str) -> None:
        """Expect an error whose text or URL contains `fragment`, e.g. an API call's 401."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a in p for a in self.allowed)]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


async def _open_page(
    browser: Browser, live_app: LiveApp, console: ConsoleWatch, **options: Any
) -> tuple[BrowserContext, Page]:
    # BROWSER_VIDEO_DIR=/some/folder records every test's pages as .webm, for debugging a
    # failure seen only in CI (scripts/install_browser.sh links Debian's ffmpeg for this).
    video_dir = os.environ.get("BROWSER_VIDEO_DIR")
    if video_dir:
        options.setdefault("record_video_dir", video_dir)
    context = await browser.new_context(base_url=live_app.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = await context.new_page()
    console.attach(page)
    return context, page


@pytest.fixture
async def page(browser: Browser, live_app: LiveApp, console: ConsoleWatch) -> AsyncIterator[Page]:
    """A desktop-sized page in a context of its own (its own cookies)."""
    context, page = await _open_page(browser, live_app, console)
    yield page
    await context.close()
    assert console.unexpected() == []


@pytest.fixture
async def phone_page(
    browser: Browser, live_app: LiveApp, console: ConsoleWatch
) -> AsyncIterator[Page]:
    """A phone-sized touch page (390x844) in a context of its own."""
    context, page = await _open_page(browser, live_app, console, **PHONE)
    yield page
    await context.close()
    assert console.unexpected() == []


async def sign_up_through_api(
    page: Page, *, name: str = "Ada Lovelace", email: str = "ada@example.com", base: str = ""
) -> dict[str, Any]:
    """Create an account with the page's own cookie jar (so the page is signed in).

    `base` is another server's URL; by default the request goes to the page's base_url.
    """
    response = await page.request.post(
        f"{base}/api/auth/signup", data={"name": name, "email": email, "password": "correct horse"}
    )
    assert response.status == 201, await response.text()
    user: dict[str, Any] = (await response.json())["user"]
    return user


async def become_provider_through_api(
    page: Page,
    *,
    business_name: str = "Ada's Clinic",
    timezone: str = "Europe/London",
    email: str = "ada@example.com",
    base: str = "",
) -> dict[str, Any]:
    await sign_up_through_api(page, email=email, base=base)
    response = await page.request.post(
        f"{base}/api/providers", data={"business_name": business_name, "timezone": timezone}
    )
    assert response.status == 201, await response.text()
    provider: dict[str, Any] = (await response.json())["provider"]
    return provider
