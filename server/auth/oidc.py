"""OpenID Connect building blocks: the discovery document, the provider's signing keys (both
cached per process) and id_token verification with joserfc.

Provider-neutral; server/auth/google.py uses them for Google sign-in.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

METADATA_TTL_SECONDS = 5 * 60
CLOCK_LEEWAY_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 10
ID_TOKEN_ALGORITHMS = ["RS256"]

T = TypeVar("T")


class SignInError(Exception):
    """Sign-in could not be completed; the message says why (for the log only)."""


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the discovery document we use."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class _TimedCache(Generic[T]):
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, T]] = {}

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key: str, value: T) -> None:
        self._entries[key] = (time.monotonic(), value)


_metadata_cache: _TimedCache[ProviderMetadata] = _TimedCache(METADATA_TTL_SECONDS)
_jwks_cache: _TimedCache[KeySet] = _TimedCache(METADATA_TTL_SECONDS)


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = orjson.loads(response.content)
    except (httpx.HTTPError, orjson.JSONDecodeError) as error:
        raise SignInError(f"fetching {url} failed: {error!r}") from error
    if not isinstance(body, dict):
        raise SignInError(f"{url} did not answer a JSON object")
    return body


async def discover(discovery_url: str) -> ProviderMetadata:
    """The provider's endpoints from its discovery document (cached for a few minutes)."""
    cached = _metadata_cache.get(discovery_url)
    if cached is not None:
        return cached
    document = await _get_json(discovery_url)
    fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not all(isinstance(document.get(name), str) and document[name] for name in fields):
        raise SignInError("the discovery document lacks an endpoint")
    metadata = ProviderMetadata(**{name: document[name] for name in fields})
    _metadata_cache.put(discovery_url, metadata)
    return metadata


async def signing_keys(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    """The provider's public keys (cached; `refresh` refetches, e.g. after a key rotation)."""
    cached = None if refresh else _jwks_cache.get(jwks_uri)
    if cached is not None:
        return cached
    document = await _get_json(jwks_uri)
    try:
        keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, KeyError, TypeError, ValueError) as error:
        raise SignInError(f"unusable JWKS: {error!r}") from error
    _jwks_cache.put(jwks_uri, keys)
    return keys


def _key_id(token: str) -> str | None:
    try:
        encoded = token.split(".", 1)[0]
        header = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise SignInError("malformed id_token header") from error
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


async def _keys_for(token: str, jwks_uri: str) -> KeySet:
    keys = await signing_keys(jwks_uri)
    kid = _key_id(token)
    if kid is not None and all(key.kid != kid for key in keys):
        # An unknown kid usually means the provider rotated its keys since we cached them.
        keys = await signing_keys(jwks_uri, refresh=True)
    return keys


async def verify_id_token(
    token: str, metadata: ProviderMetadata, client_id: str, nonce: str
) -> dict[str, Any]:
    """The id_token's claims once its signature, issuer, audience, expiry and nonce check out."""
    keys = await _keys_for(token, metadata.jwks_uri)
    try:
        claims = jwt.decode(token, keys, algorithms=ID_TOKEN_ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": metadata.issuer},
            aud={"essential": True},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError) as error:
        raise SignInError(f"id_token refused: {error!r}") from error
    # joserfc accepts a list claim containing the expected value; these must be exact.
    if claims["iss"] != metadata.issuer or claims["nonce"] != nonce:
        raise SignInError("id_token issuer or nonce mismatch")
    _check_audience(claims, client_id)
    return claims


def _check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    audience = claims["aud"]
    if audience == client_id:
        return
    # OpenID Connect Core 3.1.3.7: with several audiences we must be one and the azp.
    if isinstance(audience, list) and client_id in audience and claims.get("azp") == client_id:
        return
    raise SignInError(f"id_token audience {audience!r} is not us")
