"""Every failure answers in the contract's error shape, and every response carries the security
headers."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from quart import Quart
from quart.testing import WebsocketResponseError

from server.edge.errors import register_error_handlers
from server.edge.outages import install_outage_answers
from tests.conftest import LiveApp, SignUp, StartApp

SIGNUP = "/api/auth/signup"
LOGIN = "/api/auth/login"
TARGETS = [SIGNUP, LOGIN]


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


# --- request bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", TARGETS)
@pytest.mark.parametrize("body", [b"{", b"{'email': 1}", b"not json", b"", b"\xff\xfe"])
async def test_malformed_json_is_400_invalid_json(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    _error(response, 400, "invalid_json")


@pytest.mark.parametrize("path", TARGETS)
@pytest.mark.parametrize("body", [b"[]", b'["a@example.com"]', b'"a string"', b"42", b"null"])
async def test_a_json_body_that_is_not_an_object_is_400_invalid_json(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    _error(response, 400, "invalid_json")


@pytest.mark.parametrize("path", TARGETS)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_declared_json_is_400_invalid_json(
    client: httpx.AsyncClient, path: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = b'{"email": "a@example.com", "password": "12345678"}'
    response = await client.post(path, content=body, headers=headers)
    _error(response, 400, "invalid_json")


async def test_wrong_types_are_422_validation_error_naming_the_fields(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(SIGNUP, json={"email": 5, "password": ["x"], "name": None})
    error = _error(response, 422, "validation_error")
    assert set(error["fields"]) == {"email", "password", "name"}


async def test_missing_fields_are_422_validation_error_naming_them(
    client: httpx.AsyncClient,
) -> None:
    error = _error(await client.post(LOGIN, json={}), 422, "validation_error")
    assert set(error["fields"]) == {"email", "password"}


async def test_unknown_fields_are_422_validation_error_naming_them(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        LOGIN, json={"email": "a@example.com", "password": "12345678", "is_admin": True}
    )
    error = _error(response, 422, "validation_error")
    assert error["fields"] == {"is_admin": "Unknown field."}


@pytest.mark.parametrize("path", TARGETS)
async def test_a_body_over_one_mebibyte_is_413_payload_too_large(
    client: httpx.AsyncClient, path: str
) -> None:
    body = b'{"email": "a@example.com", "password": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    _error(response, 413, "payload_too_large")


async def test_a_chunked_body_over_one_mebibyte_is_413_payload_too_large(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> Any:
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        SIGNUP, content=chunks(), headers={"Content-Type": "application/json"}
    )
    _error(response, 413, "payload_too_large")


async def test_a_body_just_under_the_limit_is_read(client: httpx.AsyncClient) -> None:
    # Too long a name for the schema, but the body itself is accepted and validated.
    body = b'{"email": "a@example.com", "password": "12345678", "name": "'
    body += b"x" * (1024 * 1024 - len(body) - 2) + b'"}'
    response = await client.post(SIGNUP, content=body, headers={"Content-Type": "application/json"})
    _error(response, 422, "validation_error")


# --- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_an_unknown_api_route_is_404_json(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/api/no-such-thing")
    _error(response, 404, "not_found")


async def test_an_unknown_page_is_a_404_html_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


@pytest.mark.parametrize(("method", "path"), [("GET", SIGNUP), ("PUT", LOGIN), ("POST", "/api/me")])
async def test_a_wrong_method_on_an_api_route_is_405_json(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    _error(response, 405, "method_not_allowed")
    assert "allow" in response.headers


async def test_healthz_answers_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


# --- security headers ---------------------------------------------------------------------------


def _csp(response: httpx.Response) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


@pytest.mark.parametrize("path", ["/", "/login", "/healthz", "/api/me", "/no-such-page"])
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == "'none'"


async def test_error_responses_carry_the_security_headers_too(client: httpx.AsyncClient) -> None:
    response = await client.post(SIGNUP, content=b"{", headers={"Content-Type": "application/json"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


async def test_no_hsts_when_base_url_is_http(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert "strict-transport-security" not in response.headers


async def test_https_base_url_makes_the_session_cookie_secure(start_app: StartApp) -> None:
    https_app = await start_app(base_url="https://book.example.com")
    async with https_app.client() as http:
        response = await http.post(
            SIGNUP, json={"email": "sec@example.com", "password": "12345678", "name": "S"}
        )
        assert response.status_code == 201, response.text
        cookie = response.headers["set-cookie"].lower()
        assert "; secure" in cookie
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "strict-transport-security" in response.headers


async def test_http_base_url_leaves_the_session_cookie_without_secure(
    live_app: LiveApp, sign_up: SignUp, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        SIGNUP, json={"email": "plain@example.com", "password": "12345678", "name": "P"}
    )
    assert "secure" not in response.headers["set-cookie"].lower()


# --- WebSocket routes ---------------------------------------------------------------------------


def _app_with_a_failing_socket(error: Exception) -> Quart:
    app = Quart(__name__)
    register_error_handlers(app)
    install_outage_answers(app)

    @app.websocket("/ws/failing")
    async def failing() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "logged"),
    [
        (ValueError("a bug"), 500, "unhandled error on WEBSOCKET /ws/failing"),
        (asyncpg.TooManyConnectionsError(), 503, "503 on WEBSOCKET /ws/failing"),
    ],
)
async def test_a_failing_websocket_handler_is_logged_and_refused_as_json(
    caplog: pytest.LogCaptureFixture, error: Exception, status: int, logged: str
) -> None:
    """The error handlers also run for sockets, which have no `request` to read."""
    client = _app_with_a_failing_socket(error).test_client()
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/ws/failing") as socket:
            await socket.receive()
    assert refused.value.response.status_code == status
    assert logged in caplog.text
