"""Health checks for load balancers and the published API description."""

from __future__ import annotations

import httpx

from tests.conftest import StartApp
from tests.support.serving import free_port


async def test_healthz_is_ok_when_the_database_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_healthz_is_503_when_redis_does_not_answer(start_app: StartApp) -> None:
    live = await start_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with live.client() as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "failing": ["redis"]}


async def test_healthz_is_503_when_the_database_does_not_answer(start_app: StartApp) -> None:
    live = await start_app()
    await live.app.extensions["appointly"].pool.close()
    async with live.client() as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "failing": ["database"]}


async def test_openapi_document_describes_the_contract_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Appointly API"
    paths = document["paths"]
    for path in (
        "/api/auth/signup",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/me",
        "/api/providers",
        "/api/providers/me",
        "/api/providers/me/stripe/connect",
        "/api/services",
        "/api/services/{service_id}",
        "/api/services/{service_id}/slots",
        "/healthz",
    ):
        assert path in paths, path
    signup = paths["/api/auth/signup"]["post"]
    assert signup["description"] or signup["summary"]
    assert "requestBody" in signup


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text
