"""Forgotten passwords and e-mail verification in a real browser, with the real e-mails.

SHOTS_DIR=/some/folder saves each recovery page, desktop and phone, for a look by eye.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from jobs.notifications import deliver_outbox
from tests.browser.conftest import ConsoleWatch, sign_up_through_api
from tests.conftest import LiveApp, Mailbox

pytestmark = pytest.mark.browser

OLD_PASSWORD = "correct horse"  # what sign_up_through_api uses
NEW_PASSWORD = "battery staple"


async def deliver_mail(live_app: LiveApp) -> None:
    """Run the worker's outbox delivery once, as its job would after the app's nudge."""
    state = live_app.app.extensions["appointly"]
    await deliver_outbox({"config": live_app.config, "pool": state.pool})


async def link_from_mail(mailbox: Mailbox, live_app: LiveApp, subject: str, path: str) -> str:
    await deliver_mail(live_app)
    message = await mailbox.wait_for(lambda m: subject in m["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(rf"{re.escape(live_app.url + path)}\?token=[\w-]+", body.get_content())
    assert match, body.get_content()
    return match.group(0)


async def log_in(page: Page, password: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def save_shot(page: Page, name: str) -> None:
    folder = os.environ.get("SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.slow
async def test_a_forgotten_password_is_reset_from_the_e_mailed_link(
    page: Page, live_app: LiveApp, mailbox: Mailbox, console: ConsoleWatch
) -> None:
    await sign_up_through_api(page)
    await page.context.clear_cookies()

    await page.goto("/login")
    await page.get_by_role("link", name="Forgot password?").click()
    await expect(page).to_have_url(re.compile(r"/forgot-password$"))
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_role("button", name="Send reset link").click()
    await expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    await expect(page.locator("[data-sent-to]")).to_have_text("ada@example.com")
    await save_shot(page, "forgot-password-sent-desktop")

    link = await link_from_mail(
        mailbox, live_app, "Reset your Appointly password", "/reset-password"
    )
    await page.goto(link)
    await expect(page).to_have_url(re.compile(r"/reset-password$"))  # the token left the bar
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill("a different one")
    await page.get_by_role("button", name="Save password and sign in").click()
    await expect(page.locator("#password_confirm-error")).to_have_text(
        "The two passwords don't match."
    )
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Save password and sign in").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    me = await (await page.request.get("/api/me")).json()
    assert me["user"]["email"] == "ada@example.com"

    await page.context.clear_cookies()
    console.allow("/api/auth/login")  # the browser logs the old password's 401
    await log_in(page, OLD_PASSWORD)
    await expect(page.locator("#login-form [role=alert]")).to_have_text("Wrong email or password.")
    await log_in(page, NEW_PASSWORD)
    await expect(page).to_have_url(re.compile(r"/dashboard$"))


async def test_a_used_reset_link_says_so_and_offers_a_new_one(
    page: Page, live_app: LiveApp, mailbox: Mailbox, console: ConsoleWatch
) -> None:
    await sign_up_through_api(page)
    await page.context.clear_cookies()
    response = await page.request.post(
        "/api/auth/password-reset", data={"email": "ada@example.com"}
    )
    assert response.status == 202
    link = await link_from_mail(mailbox, live_app, "Reset", "/reset-password")
    token = link.split("token=", 1)[1]
    used = await page.request.post(
        "/api/auth/password-reset/confirm", data={"token": token, "password": NEW_PASSWORD}
    )
    assert used.status == 200
    await page.context.clear_cookies()
    console.allow("/api/auth/password-reset/confirm")  # the browser logs the 400

    await page.goto(link)
    await page.get_by_label("New password", exact=True).fill("yet another one")
    await page.get_by_label("Repeat the new password").fill("yet another one")
    await page.get_by_role("button", name="Save password and sign in").click()
    await expect(page.locator("#reset-form [role=alert]")).to_contain_text("already been used")
    await page.get_by_role("link", name="Get a new one").click()
    await expect(page).to_have_url(re.compile(r"/forgot-password$"))


async def test_the_verification_link_confirms_the_address(
    page: Page, live_app: LiveApp, mailbox: Mailbox
) -> None:
    await sign_up_through_api(page)
    response = await page.request.post("/api/me/verify-email")
    assert response.status == 202
    link = await link_from_mail(mailbox, live_app, "Confirm your e-mail", "/verify-email")

    await page.goto(link)
    await expect(page.get_by_role("heading", name="Your email is verified")).to_be_visible()
    await expect(page.locator("[data-verified-email]")).to_have_text("ada@example.com")
    me = await (await page.request.get("/api/me")).json()
    assert me["user"]["email_verified"] is True
    await save_shot(page, "verify-email-desktop")


async def test_a_bad_verification_link_offers_a_fresh_one(
    page: Page, live_app: LiveApp, mailbox: Mailbox, console: ConsoleWatch
) -> None:
    await sign_up_through_api(page)
    console.allow("/api/auth/verify-email")  # the browser logs the 400
    await page.goto("/verify-email?token=not-a-real-token")
    await expect(page.get_by_role("heading", name="We couldn't verify your email")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("expired or has already been used")
    await page.get_by_role("button", name="Send a new link").click()
    await expect(page.get_by_text("Sent. Check your inbox")).to_be_visible()
    await link_from_mail(mailbox, live_app, "Confirm your e-mail", "/verify-email")


@pytest.mark.parametrize(
    "path", ["/login", "/forgot-password", "/reset-password?token=abc", "/verify-email"]
)
async def test_recovery_pages_fit_a_phone_screen(phone_page: Page, path: str) -> None:
    await phone_page.goto(path)
    await expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
    overflow = await phone_page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await save_shot(phone_page, "phone" + re.sub(r"\W+", "-", path.split("?")[0]))


@pytest.mark.parametrize("path", ["/forgot-password", "/reset-password?token=abc", "/verify-email"])
async def test_recovery_pages_render_on_a_desktop(page: Page, path: str) -> None:
    await page.goto(path)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await save_shot(page, "desktop" + re.sub(r"\W+", "-", path.split("?")[0]))
