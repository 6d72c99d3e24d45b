"""The customer pages as HTML: what the server renders before any script runs, and who sees what."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest

from server.routes.customer_pages import price_label, when_label
from tests.conftest import BecomeProvider, LiveApp
from tests.support.booking import book, create_service, free_slots, tomorrow


@pytest.fixture
async def service(client: httpx.AsyncClient, become_provider: BecomeProvider) -> dict[str, Any]:
    await become_provider(business_name="Harbour Physio")
    return await create_service(
        client, name="Sports massage", price_cents=4500, location="1 Quay St"
    )


def test_prices_read_plainly_before_the_browser_formats_them() -> None:
    assert price_label(4500, "GBP") == "45.00 GBP"
    assert price_label(5, "EUR") == "0.05 EUR"
    assert price_label(1200, "JPY") == "1200 JPY"
    assert price_label(0, "USD") == "Free"


async def test_the_search_page_renders_its_first_results_on_the_server(
    guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    response = await guest.get("/services", params={"q": "massage"})
    assert response.status_code == 200
    page = response.text
    assert f'href="/services/{service["id"]}"' in page
    assert "Sports massage" in page and "Harbour Physio" in page
    assert 'value="massage"' in page
    assert "45.00 GBP" in page
    assert '<option value="Health"' in page

    nothing = await guest.get("/services", params={"q": "zzzz-no-such-thing"})
    assert "No services match your search." in nothing.text
    assert service["id"] not in nothing.text


async def test_the_search_page_pages_through_results(
    guest: httpx.AsyncClient, client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    for number in range(13):
        await create_service(client, name=f"Extra session {number}")
    first = (await guest.get("/services")).text
    assert "Page 1 of 2" in first
    assert 'href="/services?page=2"' in first
    second = (await guest.get("/services", params={"page": "2"})).text
    assert "Page 2 of 2" in second
    assert second.count('class="result card"') == 2
    garbage = await guest.get("/services", params={"page": "not-a-number", "q": "x" * 500})
    assert garbage.status_code == 200


async def test_a_service_page_shows_the_details_and_the_live_picker(
    guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    response = await guest.get(f"/services/{service['id']}")
    assert response.status_code == 200
    page = response.text
    assert "<h1" in page and "Sports massage" in page
    assert "1 Quay St" in page and "30 minutes" in page
    assert f'data-service-id="{service["id"]}"' in page
    assert 'data-timezone="Europe/London"' in page


@pytest.mark.parametrize("service_id", [str(uuid4()), "not-a-uuid"])
async def test_an_unknown_service_is_a_404_page(guest: httpx.AsyncClient, service_id: str) -> None:
    for path in (f"/services/{service_id}", f"/services/{service_id}/book?slot={uuid4()}"):
        response = await guest.get(path)
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "Service not found" in response.text


async def test_a_deleted_service_is_a_404_page(
    guest: httpx.AsyncClient, client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    assert (await client.delete(f"/api/services/{service['id']}")).status_code == 204
    response = await guest.get(f"/services/{service['id']}")
    assert response.status_code == 404


async def test_the_booking_form_is_for_one_slot_of_the_service(
    guest: httpx.AsyncClient, client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    form = await guest.get(f"/services/{service['id']}/book", params={"slot": slot["id"]})
    assert form.status_code == 200
    assert f'data-slot-id="{slot["id"]}"' in form.text
    assert 'data-slot-gone="false"' in form.text
    assert 'for="customer_email"' in form.text

    other = await create_service(client, name="Other")
    wrong = await guest.get(f"/services/{other['id']}/book", params={"slot": slot["id"]})
    assert wrong.status_code == 302
    assert wrong.headers["location"] == f"/services/{other['id']}"
    missing = await guest.get(f"/services/{service['id']}/book")
    assert missing.status_code == 302

    assert (await book(guest, slot["id"])).status_code == 201
    taken = await guest.get(f"/services/{service['id']}/book", params={"slot": slot["id"]})
    assert 'data-slot-gone="true"' in taken.text


async def test_a_booking_page_opens_with_its_key_only(
    guest: httpx.AsyncClient, service: dict[str, Any], live_app: LiveApp
) -> None:
    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    booked = (await book(guest, slot["id"])).json()
    path = booked["manage_url"].removeprefix(live_app.url)
    async with live_app.client() as stranger:
        page = await stranger.get(path)
        assert page.status_code == 200
        assert f"You're number {slot['token']} that day." in page.text
        assert "Awaiting confirmation" in page.text
        assert booked["manage_url"] in page.text
        assert "Cancel booking" in page.text
        wrong = await stranger.get(f"/bookings/{slot['id']}?key=wrong")
        assert wrong.status_code == 404
        assert "Booking not found" in wrong.text
        assert (await stranger.get("/bookings/not-a-uuid")).status_code == 404


async def test_the_bookings_list_needs_a_signed_in_customer(
    guest: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    response = await guest.get("/bookings")
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=/bookings"

    signup = {"email": "grace@example.com", "password": "correct horse", "name": "Grace"}
    assert (await guest.post("/api/auth/signup", json=signup)).status_code == 201
    empty = await guest.get("/bookings")
    assert empty.status_code == 200 and "Nothing booked yet." in empty.text

    slot = (await free_slots(guest, service["id"], tomorrow()))[0]
    assert (await book(guest, slot["id"])).status_code == 201
    listed = (await guest.get("/bookings")).text
    assert f'href="/bookings/{slot["id"]}"' in listed
    own = await guest.get(f"/bookings/{slot['id']}")
    assert own.status_code == 200 and "Sports massage" in own.text


async def test_the_service_page_and_booking_form_say_the_rules_where_they_bite(
    guest: httpx.AsyncClient, client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider(business_name="Harbour Physio")
    strict = await create_service(
        client, name="Sports massage", min_notice_minutes=120, cancel_cutoff_minutes=2880
    )
    page = (await guest.get(f"/services/{strict['id']}")).text
    assert "Book at least 2 hours ahead" in page
    assert "Book up to 30 days ahead" in page
    assert "Free cancellation until 2 days before" in page

    in_two_days = tomorrow() + timedelta(days=2)
    later = (await free_slots(guest, strict["id"], in_two_days))[-1]
    form = (await guest.get(f"/services/{strict['id']}/book", params={"slot": later["id"]})).text
    starts = datetime.fromisoformat(later["start_time"])
    deadline = when_label((starts - timedelta(days=2)).astimezone(ZoneInfo("Europe/London")))
    assert f"Free cancellation until 2 days before: until {deadline}." in form
    assert "Book at least 2 hours ahead." in form
    soon = (await free_slots(guest, strict["id"], tomorrow()))[-1]
    form = (await guest.get(f"/services/{strict['id']}/book", params={"slot": soon["id"]})).text
    assert "This time is less than 2 days away: once booked, it can't be cancelled online." in form

    relaxed = await create_service(client, name="Chat")
    page = (await guest.get(f"/services/{relaxed['id']}")).text
    assert "Book at least" not in page
    assert "Free cancellation until the start" in page
