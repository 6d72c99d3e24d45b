"""Signing up, in and out in a real browser, with email and password or with Google."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ConsoleWatch, sign_up_through_api
from tests.conftest import StartApp
from tests.support.oidc_provider import LocalOIDCProvider

pytestmark = pytest.mark.browser


async def test_signing_up_greets_you_on_the_dashboard_and_you_can_log_out_and_back_in(
    page: Page,
) -> None:
    await page.goto("/signup")
    await page.get_by_label("Your name").fill("Ada Lovelace")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Create account").click()

    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada Lovelace")

    await page.locator("main").get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await page.goto("/dashboard")
    await expect(page).to_have_url(re.compile(r"/login\?next=/dashboard$"))

    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada Lovelace")


async def test_a_wrong_password_is_reported_on_the_login_form(
    page: Page, console: ConsoleWatch
) -> None:
    await sign_up_through_api(page)
    await page.context.clear_cookies()
    console.allow("/api/auth/login")  # the browser logs the API's 401 response

    await page.goto("/login")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("not my password")
    await page.get_by_role("button", name="Log in").click()

    alert = page.locator("#login-form [role=alert]")
    await expect(alert).to_have_text("Wrong email or password.")
    await expect(page).to_have_url(re.compile(r"/login$"))


async def test_signup_problems_are_shown_next_to_the_field_they_concern(
    page: Page, console: ConsoleWatch
) -> None:
    console.allow("/api/auth/signup")
    await page.goto("/signup")
    await page.get_by_label("Your name").fill("Ada")
    await page.get_by_label("Email").fill("not-an-email")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Create account").click()

    email = page.get_by_label("Email")
    await expect(page.locator("#email-error")).to_have_text("Enter a valid email address.")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_be_focused()

    await email.fill("ada@example.com")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("#password-error")).to_contain_text("At least 8 characters")
    await expect(page.locator("#email-error")).to_be_empty()


async def test_signing_up_from_a_link_with_next_continues_there(page: Page) -> None:
    await page.goto("/signup?next=/onboarding")
    await page.get_by_label("Your name").fill("Ada")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/onboarding$"))


async def test_an_off_site_next_is_ignored_after_logging_in(page: Page) -> None:
    await sign_up_through_api(page)
    await page.context.clear_cookies()
    await page.goto("/login?next=//evil.example/steal")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill("correct horse")
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))


async def test_continue_with_google_signs_in_through_the_openid_provider(
    page: Page, oidc_provider: LocalOIDCProvider
) -> None:
    oidc_provider.reset()
    oidc_provider.next_identity(sub="google-42", email="grace@example.com", name="Grace Hopper")

    await page.goto("/login?next=/dashboard")
    await page.get_by_role("link", name="Continue with Google").click()

    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Grace Hopper")


async def test_a_failed_google_sign_in_gets_a_friendly_message(page: Page) -> None:
    await page.goto("/login?error=google_failed")
    await expect(page.get_by_role("alert").first).to_contain_text(
        "couldn't sign you in with Google"
    )


async def test_the_google_button_is_hidden_when_google_is_not_configured(
    page: Page, start_app: StartApp
) -> None:
    without_google = await start_app(google_client_id=None, google_client_secret=None)
    await page.goto(f"{without_google.url}/login")
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await expect(page.get_by_text("Continue with Google")).to_have_count(0)
