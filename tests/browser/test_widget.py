"""The embeddable widget on somebody else's site, in a real browser: booking by keyboard, live
slots on a second page, hostile host CSS, a dropped socket, and the provider's /embed page."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Locator, Page, WebSocketRoute, expect

from tests.browser.conftest import ConsoleWatch, become_provider_through_api
from tests.conftest import LiveApp, make_provider
from tests.support.booking import book, create_service, free_slots, tomorrow
from tests.support.serving import RunningServer, start_asgi

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")
HOSTILE_CSS = """
* { display: block !important; color: red; font-size: 40px; font-family: serif; }
button { display: none !important; }
appointly-widget { border: 9px dashed red; padding: 30px; line-height: 4; }
#second { display: grid !important; grid-template-columns: 1fr; }
"""

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


# --- A foreign site on another port -----------------------------------------------------------


@dataclass
class HostSite:
    """A tiny static site of somebody else's, as an ASGI app: path → HTML."""

    pages: dict[str, str] = field(default_factory=dict)
    server: RunningServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        html = self.pages.get(scope["path"])
        status = 200 if html is not None else 404
        body = (html or "Not found").encode()
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def add_page(self, path: str, body: str, css: str = "") -> str:
        self.pages[path] = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<link rel='icon' href='data:,'>"
            f"<title>Salon Rosa</title><style>{css}</style></head><body>"
            "<h1>Salon Rosa</h1><p class='host-text'>Book your visit below.</p>"
            f"{body}<button type='button' id='host-button'>Host button</button></body></html>"
        )
        return self.url + path


def widget_tag(live_app: LiveApp, service_id: str, **data: str) -> str:
    extra = "".join(f' data-{name}="{value}"' for name, value in data.items())
    return (
        f'<script src="{live_app.url}/static/widget.js" data-service="{service_id}"{extra}>'
        "</script>"
    )


@pytest.fixture
async def host_site() -> AsyncIterator[HostSite]:
    site = HostSite()
    site.server = await start_asgi(site)
    yield site
    await site.server.stop()


@pytest.fixture
async def provider_http(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        await make_provider(http, business_name="Rosa's Salon", email="rosa@example.com")
        yield http


@pytest.fixture
async def haircut(provider_http: httpx.AsyncClient) -> dict[str, Any]:
    return await create_service(provider_http, name="Haircut", price_cents=2500)


# --- Helpers -----------------------------------------------------------------------------------


async def live_widget(widget: Locator) -> Locator:
    """Wait until the widget has its first snapshot, then show tomorrow's times."""
    await expect(widget.get_by_role("status")).to_have_text("Live availability")
    await widget.locator(f'button[data-date="{tomorrow().isoformat()}"]').click()
    return widget


async def shoot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        await page.screenshot(path=f"{SCREENSHOT_DIR}/{name}.png", full_page=True)


# --- Booking from a foreign site ---------------------------------------------------------------


async def test_a_widget_on_a_foreign_site_books_by_keyboard_and_a_second_page_sees_the_slot_go(
    live_app: LiveApp,
    host_site: HostSite,
    haircut: dict[str, Any],
    page: Page,
    phone_page: Page,
    db: asyncpg.Connection,
) -> None:
    shop = host_site.add_page("/book", widget_tag(live_app, haircut["id"]))
    await page.goto(shop)
    widget = await live_widget(page.locator("appointly-widget"))
    await phone_page.goto(shop)
    watcher = await live_widget(phone_page.locator("appointly-widget"))
    await phone_page.evaluate("window.notReloaded = true")
    await expect(watcher.get_by_role("button", name="09:30", exact=True)).to_be_visible()

    await expect(widget.get_by_role("heading", name="Haircut")).to_be_visible()
    await expect(widget.get_by_text("Rosa's Salon")).to_be_visible()
    await widget.get_by_role("button", name="09:30", exact=True).press("Enter")
    await expect(widget.get_by_label("Name")).to_be_focused()
    await page.keyboard.type("Grace Hopper")
    await page.keyboard.press("Tab")
    await expect(widget.get_by_label("E-mail")).to_be_focused()
    await page.keyboard.type("grace@example.com")
    await shoot(page, "widget-desktop-form")
    await widget.get_by_role("button", name="Book", exact=True).press("Enter")

    await expect(widget.get_by_role("heading", name="You're booked")).to_be_visible()
    await expect(widget.get_by_text(re.compile(r"at 09:30\. Your number is"))).to_be_visible()
    manage = widget.get_by_role("link", name="Manage your booking")
    await expect(manage).to_have_attribute(
        "href", re.compile(rf"^{live_app.url}/bookings/.+\?key=")
    )
    await shoot(page, "widget-desktop-booked")

    await expect(watcher.get_by_role("button", name="09:30", exact=True)).to_have_count(0)
    assert await phone_page.evaluate("window.notReloaded") is True
    await expect(watcher.get_by_role("button", name="10:00", exact=True)).to_be_visible()
    await shoot(phone_page, "widget-phone-after-booking")

    rows = await db.fetch(
        "SELECT customer_name, customer_user_id FROM appointments WHERE customer_email = $1",
        "grace@example.com",
    )
    assert [(row["customer_name"], row["customer_user_id"]) for row in rows] == [
        ("Grace Hopper", None)
    ]


async def test_a_slot_taken_while_choosing_is_reported_and_the_times_refresh(
    live_app: LiveApp, host_site: HostSite, haircut: dict[str, Any], page: Page
) -> None:
    shop = host_site.add_page("/book", widget_tag(live_app, haircut["id"]))
    await page.goto(shop)
    widget = await live_widget(page.locator("appointly-widget"))
    await widget.get_by_role("button", name="09:30", exact=True).click()
    await widget.get_by_label("Name").fill("Grace Hopper")

    async with live_app.client() as someone_else:
        slot = next(
            s
            for s in await free_slots(someone_else, haircut["id"], tomorrow())
            if s["start_time"][11:16] == "09:30"
        )
        assert (await book(someone_else, slot["id"])).status_code == 201

    await expect(widget.get_by_role("alert")).to_have_text(re.compile("09:30 was just taken"))
    await expect(widget.get_by_role("button", name="09:30", exact=True)).to_have_count(0)
    await expect(widget.get_by_role("button", name="Book", exact=True)).to_be_hidden()


async def test_a_booking_that_loses_the_race_says_so_and_refreshes_the_times(
    live_app: LiveApp,
    host_site: HostSite,
    haircut: dict[str, Any],
    page: Page,
    console: ConsoleWatch,
) -> None:
    console.allow("status of 409")

    async def only_the_first_snapshot(ws: WebSocketRoute) -> None:
        # The widget hears no live changes, so it learns of the lost slot only from the 409.
        server = ws.connect_to_server()
        frames: list[str | bytes] = []

        def forward_first(message: str | bytes) -> None:
            frames.append(message)
            if len(frames) == 1:
                ws.send(message)

        server.on_message(forward_first)

    await page.route_web_socket(re.compile(r"/ws/services/"), only_the_first_snapshot)
    shop = host_site.add_page("/book", widget_tag(live_app, haircut["id"]))
    await page.goto(shop)
    widget = await live_widget(page.locator("appointly-widget"))
    await widget.get_by_role("button", name="09:30", exact=True).click()
    await widget.get_by_label("Name").fill("Grace Hopper")
    await widget.get_by_label("E-mail").fill("grace@example.com")

    async with live_app.client() as someone_else:
        slots = await free_slots(someone_else, haircut["id"], tomorrow())
        slot = next(s for s in slots if s["start_time"][11:16] == "09:30")
        assert (await book(someone_else, slot["id"])).status_code == 201
    await expect(widget.get_by_role("button", name="09:30", exact=True)).to_be_visible()

    await widget.get_by_role("button", name="Book", exact=True).click()
    await expect(widget.get_by_role("alert")).to_have_text(
        "Sorry, that time was just taken. Please choose another time."
    )
    await expect(widget.get_by_role("button", name="09:30", exact=True)).to_have_count(0)
    await expect(widget.get_by_role("button", name="10:00", exact=True)).to_be_visible()


async def test_hostile_host_css_breaks_neither_widget_and_two_widgets_work_independently(
    live_app: LiveApp,
    host_site: HostSite,
    provider_http: httpx.AsyncClient,
    haircut: dict[str, Any],
    page: Page,
    phone_page: Page,
) -> None:
    colour = await create_service(provider_http, name="Colour", duration_minutes=60)
    body = (
        widget_tag(live_app, haircut["id"])
        + "<div id='second'></div>"
        + widget_tag(live_app, colour["id"], target="second")
    )
    shop = host_site.add_page("/hostile", body, css=HOSTILE_CSS)
    for tab, name in ((page, "desktop"), (phone_page, "phone")):
        await tab.goto(shop)
        first = await live_widget(tab.locator("appointly-widget").nth(0))
        second = await live_widget(tab.locator("#second appointly-widget"))
        await expect(first.get_by_role("heading", name="Haircut")).to_be_visible()
        await expect(second.get_by_role("heading", name="Colour")).to_be_visible()
        # Hourly slots in the second widget, half-hourly in the first.
        await expect(first.get_by_role("button", name="09:30", exact=True)).to_be_visible()
        await expect(second.get_by_role("button", name="09:30", exact=True)).to_have_count(0)
        await expect(second.get_by_role("button", name="10:00", exact=True)).to_be_visible()

        slot_style = await first.get_by_role("button", name="09:30", exact=True).evaluate(
            "el => { const s = getComputedStyle(el); return [s.display, s.fontSize, s.color]; }"
        )
        assert slot_style[0] != "none"
        assert slot_style[1] == "15px"
        assert slot_style[2] != "rgb(255, 0, 0)"
        # ... and the host page's own rules still apply to the host page.
        await expect(tab.locator("#host-button")).to_be_hidden()
        host_text = await tab.locator(".host-text").evaluate("el => getComputedStyle(el).color")
        assert host_text == "rgb(255, 0, 0)"

        await first.get_by_role("button", name="09:30", exact=True).click()
        await expect(first.get_by_label("Name")).to_be_visible()
        await expect(second.get_by_label("Name")).to_be_hidden()
        assert await tab.evaluate(NO_SIDEWAYS_SCROLL), "the page is wider than the screen"
        await shoot(tab, f"widget-{name}-hostile-css")


async def test_the_widget_recovers_when_its_socket_drops_and_applies_the_new_snapshot(
    live_app: LiveApp, host_site: HostSite, haircut: dict[str, Any], page: Page
) -> None:
    sockets: list[WebSocketRoute] = []
    booked_while_offline: list[str] = []

    async def route_slot_socket(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        if len(sockets) == 2:
            # Book 10:00 while the widget is between sockets: only the snapshot can tell it.
            async with live_app.client() as someone_else:
                slots = await free_slots(someone_else, haircut["id"], tomorrow())
                ten = next(s for s in slots if s["start_time"][11:16] == "10:00")
                assert (await book(someone_else, ten["id"])).status_code == 201
            booked_while_offline.append(ten["id"])
        ws.connect_to_server()

    await page.route_web_socket(re.compile(r"/ws/services/"), route_slot_socket)
    shop = host_site.add_page("/book", widget_tag(live_app, haircut["id"]))
    await page.goto(shop)
    widget = await live_widget(page.locator("appointly-widget"))
    await expect(widget.get_by_role("button", name="10:00", exact=True)).to_be_visible()

    await sockets[0].close(code=1011, reason="dropped by the test")

    await expect(widget.get_by_role("button", name="10:00", exact=True)).to_have_count(0)
    assert len(sockets) == 2
    assert booked_while_offline
    await expect(widget.get_by_role("status")).to_have_text("Live availability")

    # The new socket is live: a change now arrives as an event.
    async with live_app.client() as someone_else:
        slots = await free_slots(someone_else, haircut["id"], tomorrow())
        eleven = next(s for s in slots if s["start_time"][11:16] == "11:00")
        assert (await book(someone_else, eleven["id"])).status_code == 201
    await expect(widget.get_by_role("button", name="11:00", exact=True)).to_have_count(0)


# --- The provider's /embed page ---------------------------------------------------------------


async def test_embed_sends_visitors_to_log_in_and_customers_to_onboarding(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.get("/embed")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/login?next=/embed"
    signup = await client.post(
        "/api/auth/signup",
        json={"email": "cara@example.com", "password": "correct horse", "name": "Cara"},
    )
    assert signup.status_code == 201
    customer = await client.get("/embed")
    assert customer.status_code == 302
    assert customer.headers["Location"] == "/onboarding"


async def test_embed_shows_each_services_snippet_with_a_copy_button_and_a_live_preview(
    live_app: LiveApp, page: Page, phone_page: Page
) -> None:
    for tab, name in ((page, "desktop"), (phone_page, "phone")):
        email = f"{name}@example.com"
        await become_provider_through_api(tab, business_name=f"Studio {name}", email=email)
        response = await tab.request.post(
            "/api/services",
            data={
                "name": "Portrait session",
                "description": "An hour in the studio.",
                "price_cents": 9000,
                "currency": "GBP",
                "duration_minutes": 60,
                "max_appointments_per_day": 8,
                "hours": {"mon": [["09:00", "17:00"]], "sat": [["10:00", "14:00"]]},
            },
        )
        assert response.status == 201, await response.text()
        service = (await response.json())["service"]
        await tab.context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=live_app.url
        )

        await tab.goto("/embed")
        card = tab.locator(f'[data-embed-service="{service["id"]}"]')
        snippet = card.get_by_label("Snippet for Portrait session")
        expected = (
            f'<script src="{live_app.url}/static/widget.js" data-service="{service["id"]}">'
            "</script>"
        )
        await expect(snippet).to_have_value(expected)
        await card.get_by_role("button", name="Copy snippet").click()
        await expect(card.get_by_role("status").first).to_have_text("Copied.")
        assert await tab.evaluate("navigator.clipboard.readText()") == expected

        preview = card.get_by_role("region", name="Live preview").locator("appointly-widget")
        await expect(preview.get_by_role("heading", name="Portrait session")).to_be_visible()
        await expect(preview.get_by_role("status")).to_have_text("Live availability")
        await expect(preview.get_by_text(f"Studio {name}")).to_be_visible()
        assert await tab.evaluate(NO_SIDEWAYS_SCROLL), "the page is wider than the screen"
        await shoot(tab, f"embed-{name}")
