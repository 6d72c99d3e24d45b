"""The search page in a real browser: capped totals ("1,000+ services") and the near and
"free on" filters, each kept in the URL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import BecomeProvider
from tests.support.booking import EVERY_DAY_9_TO_5, create_service, tomorrow

pytestmark = pytest.mark.browser


@pytest.fixture
async def big_catalogue(
    client: httpx.AsyncClient, become_provider: BecomeProvider, db: asyncpg.Connection
) -> dict[str, Any]:
    """1,200 "Massage n" services (every fifth one Music) in one statement, plus one real
    service in Bristol with slots, by the same provider."""
    provider = await become_provider(business_name="Big Spa")
    await db.execute(
        """
        INSERT INTO services (provider_id, name, description, category, location, price_cents,
                              currency, duration_minutes, max_appointments_per_day, hours,
                              created_at)
        SELECT $1::uuid, 'Massage ' || n, 'Relaxing massage number ' || n,
               CASE WHEN n % 5 = 0 THEN 'Music' ELSE 'Wellness' END, 'Leeds',
               1000, 'GBP', 30, 8, '{}'::jsonb, now() - interval '1 day'
          FROM generate_series(1, 1200) AS n
        """,
        provider["id"],
    )
    day = tomorrow()
    closed = {
        name: hours
        for name, hours in EVERY_DAY_9_TO_5.items()
        if name != day.strftime("%a").lower()
    }
    return await create_service(
        client, name="Harbour massage", location="1 Quay Street, Bristol", hours=closed
    )


async def test_the_page_says_1000_plus_and_filters_by_place_and_free_day(
    page: Page, big_catalogue: dict[str, Any]
) -> None:
    status = page.locator("[data-search-status]")
    results = page.locator("[data-results] > li")
    await page.goto("/services")
    await expect(status).to_have_text("1,000+ services")

    await page.get_by_label("Search").press_sequentially("massge", delay=30)
    await expect(page).to_have_url(re.compile(r"/services\?q=massge$"))
    await expect(status).to_have_text("1,000+ services")
    await page.get_by_label("Category").select_option("Music")
    await expect(status).to_have_text("240 services")
    await expect(results).to_have_count(12)

    await page.get_by_label("Category").select_option("")
    await page.get_by_label("Near").fill("Bristol")
    await expect(status).to_have_text("1 service")
    await expect(results.first).to_contain_text("Harbour massage")
    await expect(page).to_have_url(re.compile(r"/services\?q=massge&near=Bristol$"))

    # The Bristol service is closed tomorrow and open the day after.
    day = tomorrow()
    await page.get_by_label("Free on").fill(day.isoformat())
    await expect(status).to_have_text("No services match your search.")
    await expect(page).to_have_url(re.compile(rf"available_on={day.isoformat()}"))
    await page.get_by_label("Free on").fill((day + timedelta(days=1)).isoformat())
    await expect(status).to_have_text("1 service")

    await page.reload()
    await expect(page.get_by_label("Near")).to_have_value("Bristol")
    await expect(page.get_by_label("Free on")).to_have_value((day + timedelta(days=1)).isoformat())
    await expect(status).to_have_text("1 service")
    await expect(results.first).to_contain_text("Harbour massage")
