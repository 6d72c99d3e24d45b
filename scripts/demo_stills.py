"""Still pictures for the README beside the recorded journey: the booking widget on somebody
else's site, and a service's live slots on a phone."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from demo_browser import DESKTOP, PHONE, DemoService, Journey
from playwright.async_api import expect


def host_page(base_url: str, service_id: str) -> bytes:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'><title>Harley Street Physio</title><style>"
        "body{font-family:Georgia,serif;max-width:760px;margin:40px auto;padding:0 20px;"
        "color:#1f2937;background:#f8fafc}h1{color:#0f766e}</style></head><body>"
        "<h1>Harley Street Physio Clinic</h1><p>Book your first assessment online: the "
        "times below are live.</p>"
        f"<script src='{base_url}/static/widget.js' data-service='{service_id}'></script>"
        "</body></html>"
    ).encode()


@contextlib.contextmanager
def foreign_site(page: bytes) -> Iterator[str]:
    """Somebody else's one-page site on another loopback port (another origin); its URL.

    A real server, not Playwright's router: Chromium refuses to let a page it cannot place on
    the network load a script from a loopback address.
    """

    class OnePage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OnePage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def widget_on_a_foreign_site(journey: Journey, service: DemoService) -> None:
    """The embeddable widget on somebody else's page, booking through the API and socket."""
    context = await journey.context(viewport=DESKTOP)
    try:
        page = await journey.page(context, "widget")
        with foreign_site(host_page(journey.base_url, service.id)) as url:
            await page.goto(url)
            widget = page.locator("appointly-widget")
            await expect(widget).to_be_visible()
            # Choosing a time opens the widget's booking form: show that too.
            await widget.locator("button.slot").first.click()
            await expect(widget.locator("form")).to_be_visible()
            await widget.get_by_label("Name", exact=True).fill("Charlie Customer")
            # The host page is short: keep the picture to what it shows.
            box = await widget.bounding_box()
            assert box is not None
            await journey.shoot(page, "widget", height=box["y"] + box["height"] + 40)
    finally:
        await context.close()


async def service_on_a_phone(journey: Journey, service: DemoService) -> None:
    """A service's live times on a 390x844 phone screen."""
    context = await journey.context(**PHONE)
    try:
        page = await journey.page(context, "phone")
        await page.goto(f"/services/{service.id}?day={service.day.isoformat()}")
        await expect(page.locator("[data-live-status]")).to_have_text("Live")
        await expect(page.locator("[data-slots] button").first).to_be_visible()
        # The whole page: on a phone the times sit below the service's details.
        await journey.shoot(page, "phone-service", full_page=True)
    finally:
        await context.close()
