"""The landing page as HTML: which service its hero shows live, the fallback when there is none,
and where its calls to action lead."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import asyncpg
import httpx
import pytest

from server.infra.config import Config
from server.models.showcase import DEMO_PROVIDER_SLUG, DEMO_SERVICE_NAME
from server.usecases.demo import DEMO_PROVIDERS, seed_demo
from tests.conftest import LiveApp, make_provider
from tests.support.booking import create_service


class LandingPage(HTMLParser):
    """The parts of the landing page these tests read: script tags, links, table headers."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.links: dict[str, str] = {}
        self.ids: set[str] = set()
        self.header_scopes: list[str | None] = []
        self.captions = 0
        self._link: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if tag == "script":
            self.scripts.append(attributes)
        elif tag == "a":
            self._link = attributes.get("href")
        elif tag == "th":
            self.header_scopes.append(attributes.get("scope"))
        elif tag == "caption":
            self.captions += 1

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if self._link is not None and text:
            self.links.setdefault(text, self._link)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._link = None

    def widget_scripts(self) -> list[dict[str, str | None]]:
        return [s for s in self.scripts if s.get("src") == "/static/widget.js"]


async def landing(http: httpx.AsyncClient) -> LandingPage:
    response = await http.get("/")
    assert response.status_code == 200
    return LandingPage(response.text)


@pytest.fixture
async def provider_http(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app.client() as http:
        await make_provider(http, business_name="Harbour Physio", email="harbour@example.com")
        yield http


async def test_with_no_services_the_hero_offers_to_add_the_first_service_instead_of_a_widget(
    guest: httpx.AsyncClient,
) -> None:
    response = await guest.get("/")
    page = LandingPage(response.text)
    assert page.widget_scripts() == []
    assert "hero-widget" not in page.ids
    assert "data-showcase-fallback" in response.text
    assert page.links["Add your first service"] == "/signup?next=/onboarding"


async def test_the_hero_renders_a_live_widget_of_a_seeded_service(
    guest: httpx.AsyncClient, provider_http: httpx.AsyncClient
) -> None:
    service = await create_service(provider_http, name="Sports massage")
    page = await landing(guest)
    assert page.widget_scripts() == [
        {
            "src": "/static/widget.js",
            "data-service": service["id"],
            "data-target": "hero-widget",
            "defer": None,
        }
    ]
    assert "hero-widget" in page.ids


async def test_the_newest_service_with_free_times_this_week_is_the_one_shown(
    guest: httpx.AsyncClient, provider_http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    older = await create_service(provider_http, name="Consultation")
    newer = await create_service(provider_http, name="Sports massage")
    page = await landing(guest)
    assert page.widget_scripts()[0]["data-service"] == newer["id"]

    # The newer one has nothing free in the coming week: showing it off would show nothing.
    await db.execute(
        "DELETE FROM appointments WHERE service_id = $1 AND starts_at < now() + interval '8 days'",
        newer["id"],
    )
    page = await landing(guest)
    assert page.widget_scripts()[0]["data-service"] == older["id"]


async def test_a_deleted_service_is_never_shown(
    guest: httpx.AsyncClient, provider_http: httpx.AsyncClient
) -> None:
    service = await create_service(provider_http, name="Sports massage")
    assert (await provider_http.delete(f"/api/services/{service['id']}")).status_code == 204
    page = await landing(guest)
    assert page.widget_scripts() == []


async def test_the_seeded_demo_physiotherapy_assessment_is_shown_before_newer_services(
    database_url: str,
    redis_url: str,
    guest: httpx.AsyncClient,
    provider_http: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    # The showcase names the demo's clinic and service; the demo must still have them.
    clinic = DEMO_PROVIDERS[0]
    assert clinic.slug == DEMO_PROVIDER_SLUG
    assert DEMO_SERVICE_NAME in [body["name"] for body in clinic.services]

    await seed_demo(Config(database_url=database_url, redis_url=redis_url))
    await create_service(provider_http, name="Brand-new service")
    physio = await db.fetchval(
        "SELECT s.id FROM services AS s JOIN providers AS p ON p.id = s.provider_id "
        "WHERE p.slug = $1 AND s.name = $2",
        DEMO_PROVIDER_SLUG,
        DEMO_SERVICE_NAME,
    )
    response = await guest.get("/")
    page = LandingPage(response.text)
    assert page.widget_scripts()[0]["data-service"] == str(physio)
    assert "Harley Street Physio Clinic" in response.text


async def test_the_calls_to_action_lead_a_visitor_to_sign_up_and_a_provider_to_their_tools(
    guest: httpx.AsyncClient, provider_http: httpx.AsyncClient
) -> None:
    visitor = await landing(guest)
    assert visitor.links["Find a service"] == "/services"
    assert visitor.links["Become a provider"] == "/signup?next=/onboarding"
    assert visitor.links["Embed the widget"] == "/signup?next=/onboarding"
    assert visitor.links["Read the API"] == "/docs"

    provider = await landing(provider_http)
    assert provider.links["Become a provider"] == "/dashboard"
    assert provider.links["Embed the widget"] == "/embed"
    assert provider.links["Add your first service"] == "/add-service"


async def test_the_comparison_table_has_a_caption_and_scoped_headers(
    guest: httpx.AsyncClient,
) -> None:
    response = await guest.get("/")
    page = LandingPage(response.text)
    assert page.captions == 1
    assert page.header_scopes and set(page.header_scopes) <= {"col", "row"}
    assert re.search(r"<th scope=\"col\"[^>]*>Calendly</th>", response.text)
    assert re.search(r"<th scope=\"col\"[^>]*>Cal\.com</th>", response.text)
