"""Becoming a provider: POST /api/providers and GET /api/providers/me."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import BecomeProvider, SignUp

PROVIDER_FIELDS = {
    "id",
    "business_name",
    "slug",
    "timezone",
    "phone",
    "stripe_account_id",
    "charges_enabled",
}


async def test_becoming_a_provider_returns_the_provider(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers",
        json={
            "business_name": "  Ada's   Clinic ",
            "timezone": "Europe/London",
            "phone": "+44 20 7946 0000",
        },
    )
    assert response.status_code == 201, response.text
    provider = response.json()["provider"]
    assert set(provider) == PROVIDER_FIELDS
    uuid.UUID(provider["id"])
    assert provider["business_name"] == "Ada's Clinic"
    assert provider["slug"] == "ada-s-clinic"
    assert provider["timezone"] == "Europe/London"
    assert provider["phone"] == "+44 20 7946 0000"
    assert provider["stripe_account_id"] is None
    assert provider["charges_enabled"] is False


async def test_the_user_is_a_provider_afterwards(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    provider = await become_provider()
    me = await client.get("/api/me")
    assert me.json()["user"]["is_provider"] is True
    mine = await client.get("/api/providers/me")
    assert mine.status_code == 200
    assert mine.json()["provider"] == provider


async def test_becoming_a_provider_twice_is_refused(
    client: httpx.AsyncClient, become_provider: BecomeProvider
) -> None:
    await become_provider()
    response = await client.post(
        "/api/providers", json={"business_name": "Second", "timezone": "Europe/Paris"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_provider"


async def test_two_providers_with_the_same_name_get_different_slugs(
    become_provider: BecomeProvider, client: httpx.AsyncClient
) -> None:
    first = await become_provider(business_name="Bright Smile", email="one@example.com")
    await client.post("/api/auth/logout")
    second = await become_provider(business_name="Bright Smile", email="two@example.com")
    assert first["slug"] == "bright-smile"
    assert second["slug"] != first["slug"]
    assert second["slug"].startswith("bright-smile-")


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "", "europe/london", "UTC+1"])
async def test_a_timezone_that_is_not_iana_is_refused(
    client: httpx.AsyncClient, sign_up: SignUp, timezone: str
) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers", json={"business_name": "Ada's Clinic", "timezone": timezone}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_timezone"
    assert (await client.get("/api/me")).json()["user"]["is_provider"] is False


@pytest.mark.parametrize("phone", ["call me", "12", "+44 <script>", "1" * 41])
async def test_a_phone_that_is_not_a_number_is_refused(
    client: httpx.AsyncClient, sign_up: SignUp, phone: str
) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers",
        json={"business_name": "Ada's Clinic", "timezone": "Europe/London", "phone": phone},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_phone"


async def test_a_blank_phone_is_stored_as_none(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers",
        json={"business_name": "Ada's Clinic", "timezone": "Europe/London", "phone": "  "},
    )
    assert response.status_code == 201
    assert response.json()["provider"]["phone"] is None


async def test_a_blank_business_name_is_refused(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers", json={"business_name": "   ", "timezone": "Europe/London"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_business_name"


async def test_unknown_and_missing_fields_are_refused(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers",
        json={"business_name": "Ada's Clinic", "timezone": "Europe/London", "is_admin": True},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"is_admin": "Unknown field."}
    missing = await client.post("/api/providers", json={"business_name": "Ada's Clinic"})
    assert missing.status_code == 422
    assert "timezone" in missing.json()["error"]["fields"]


async def test_a_body_that_is_not_an_object_is_refused(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    for body in (b"[1, 2]", b"{not json", b"null"):
        response = await client.post(
            "/api/providers", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), body
        assert "error" in response.json()


async def test_signed_out_visitors_cannot_become_providers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/providers", json={"business_name": "Ada's Clinic", "timezone": "Europe/London"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    mine = await client.get("/api/providers/me")
    assert mine.status_code == 401


async def test_my_provider_is_not_found_before_onboarding(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.get("/api/providers/me")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_provider"


async def test_a_cross_site_request_cannot_make_a_provider(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(
        "/api/providers",
        json={"business_name": "Ada's Clinic", "timezone": "Europe/London"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
