"""What the demo's browser steps share: settings, the demo service, and a Journey that opens
contexts and pages, collects what the pages log, and saves screenshots.

Waits are on what the page shows (Playwright's expect); the only sleeps are short pauses that
let a viewer of the video follow along (DEMO_PACE=0 drops them).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, BrowserContext, FloatRect, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TIMEOUT_MS = 15_000
PACE = float(os.environ.get("DEMO_PACE", "1"))
PROVIDER_EMAIL = "clinic@demo.appointly.local"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (the public demo password from seed-demo)
SERVICE_NAME = "Physiotherapy assessment"
CUSTOMER_NAME = "Charlie Customer"
CUSTOMER_EMAIL = "customer@demo.appointly.local"


class JourneyError(RuntimeError):
    """A step of the demo did not happen; the message says which."""


@dataclass
class Recording:
    customer_video: Path
    provider_video: Path
    screenshots: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class DemoService:
    id: str
    timezone: str
    day: date
    free: list[dict[str, Any]]


async def pause(seconds: float) -> None:
    """A moment for whoever watches the video to read the screen (not a wait for the app)."""
    await asyncio.sleep(seconds * PACE)


def wall_clock(slot: dict[str, Any], zone: str) -> str:
    return datetime.fromisoformat(slot["start_time"]).astimezone(ZoneInfo(zone)).strftime("%H:%M")


async def find_demo_service(http: httpx.AsyncClient) -> DemoService:
    """The clinic's assessment, and the first day from tomorrow with plenty of free times."""
    found = (await http.get("/api/services", params={"q": SERVICE_NAME})).json()["services"]
    service = next((s for s in found if s["name"] == SERVICE_NAME), None)
    if service is None:
        raise JourneyError(f"seed-demo did not create {SERVICE_NAME!r}")
    zone = service["provider"]["timezone"]
    tomorrow = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
    params = {"from": tomorrow.isoformat(), "to": (tomorrow + timedelta(days=13)).isoformat()}
    slots = (await http.get(f"/api/services/{service['id']}/slots", params=params)).json()
    by_day: dict[str, list[dict[str, Any]]] = {}
    for slot in slots["slots"]:
        if slot["available"]:
            by_day.setdefault(slot["slot_date"], []).append(slot)
    day = next((d for d in sorted(by_day) if len(by_day[d]) >= 4), None)
    if day is None:
        raise JourneyError("no day in the next two weeks has four free times")
    return DemoService(service["id"], zone, date.fromisoformat(day), by_day[day])


class Journey:
    def __init__(self, browser: Browser, base_url: str, out_dir: Path, video_dir: Path) -> None:
        self.browser = browser
        self.base_url = base_url
        self.out_dir = out_dir
        self.video_dir = video_dir
        self.screenshots: list[Path] = []
        self.problems: list[str] = []

    async def context(self, **options: Any) -> BrowserContext:
        context = await self.browser.new_context(base_url=self.base_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        return context

    async def page(self, context: BrowserContext, who: str) -> Page:
        page = await context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"{who}: page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"{who}: console error: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        return page

    async def shoot(
        self, page: Page, name: str, *, height: float | None = None, full_page: bool = False
    ) -> None:
        """Save the viewport (its top `height` pixels, or the whole page) as OUT/NAME.png."""
        path = self.out_dir / f"{name}.png"
        clip = None
        if height is not None:
            width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
            clip = FloatRect(x=0, y=0, width=width, height=height)
        await page.screenshot(path=str(path), clip=clip, full_page=full_page, animations="disabled")
        self.screenshots.append(path)
