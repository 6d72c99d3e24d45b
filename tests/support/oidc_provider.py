"""A local OpenID Connect provider standing in for Google in tests (and in browser tests).

It auto-approves every authorization request as the identity set with `next_identity()`, so
a real browser following the redirects completes the flow without a consent page. Tests can
make the next token wrong in one specific way with `tamper()`, or make the next authorization
fail with `refuse_next()`.

    provider.next_identity(sub="g-1", email="ada@example.com", email_verified=True, name="Ada")
    provider.tamper(aud="other", nonce="wrong", exp_offset=-120, sign_with_other_key=True,
                    issuer="http://evil", token_status=500)
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from quart import Quart, Response, jsonify, request

from tests.support.serving import RunningServer, start_asgi

TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    sub: str = "google-user-1"
    email: str = "grace@example.com"
    email_verified: bool = True
    name: str = "Grace Hopper"


@dataclass(frozen=True)
class Tampering:
    """One-shot changes to the next token response; None/False means "as normal"."""

    aud: str | list[str] | None = None
    nonce: str | None = None
    issuer: str | None = None
    exp_offset: int | None = None
    sign_with_other_key: bool = False
    token_status: int | None = None
    extra_claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Grant:
    """An issued authorization code and what it was issued for."""

    client_id: str
    redirect_uri: str
    nonce: str | None
    identity: Identity
    code_challenge: str | None


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _is_loopback_callback(uri: str) -> bool:
    parts = urlsplit(uri)
    return (
        parts.scheme in ("http", "https")
        and parts.hostname in ("127.0.0.1", "localhost", "::1")
        and parts.path.endswith("/auth/google/callback")
    )


class LocalOIDCProvider:
    client_id = "appointly-test-client"
    client_secret = "appointly-test-secret"

    def __init__(self) -> None:
        self.server: RunningServer | None = None
        self.key = self._new_key()
        self.other_key = self._impostor_key()
        self.published_keys: list[RSAKey] = [self.key]
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self._grants: dict[str, Grant] = {}
        self.reset()

    # --- What tests control -------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the default identity, no tampering, no refusal, no recorded requests."""
        self._identity = Identity()
        self._tampering = Tampering()
        self._refusal: str | None = None
        self.authorize_requests.clear()
        self.token_requests.clear()

    def next_identity(
        self,
        *,
        sub: str,
        email: str,
        email_verified: bool = True,
        name: str = "Grace Hopper",
    ) -> Identity:
        """Who the following authorizations sign in as (until changed)."""
        self._identity = Identity(sub=sub, email=email, email_verified=email_verified, name=name)
        return self._identity

    def tamper(self, **changes: Any) -> None:
        """Make the next token response wrong in the given ways (see Tampering)."""
        self._tampering = replace(self._tampering, **changes)

    def refuse_next(self, error: str = "access_denied") -> None:
        """The next authorization redirects back with `error` instead of a code."""
        self._refusal = error

    def rotate_key(self) -> None:
        """Sign with a new key (new kid) from now on, publishing only the new one."""
        self.key = self._new_key()
        self.other_key = self._impostor_key()
        self.published_keys = [self.key]

    # --- Lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    async def start(self) -> None:
        self.server = await start_asgi(self._app())

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    # --- The HTTP endpoints -------------------------------------------------------------------

    def _app(self) -> Quart:
        app = Quart(__name__)
        app.add_url_rule("/.well-known/openid-configuration", view_func=self._discovery)
        app.add_url_rule("/jwks", view_func=self._jwks)
        app.add_url_rule("/authorize", view_func=self._authorize)
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        return app

    async def _discovery(self) -> Response:
        return jsonify(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self) -> Response:
        return jsonify({"keys": [key.as_dict(private=False) for key in self.published_keys]})

    async def _authorize(self) -> Response | tuple[str, int]:
        params = dict(request.args)
        self.authorize_requests.append(params)
        redirect_uri = params.get("redirect_uri", "")
        # Like a real provider: a bad client or redirect_uri gets an error page, no redirect.
        if params.get("client_id") != self.client_id or not _is_loopback_callback(redirect_uri):
            return "unknown client_id or redirect_uri", 400
        if self._refusal is not None:
            answer = {"error": self._refusal, "state": params.get("state", "")}
            self._refusal = None
            return _redirect(redirect_uri, answer)
        if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
            return _redirect(
                redirect_uri, {"error": "invalid_request", "state": params.get("state", "")}
            )
        code = secrets.token_urlsafe(24)
        self._grants[code] = Grant(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            nonce=params.get("nonce"),
            identity=self._identity,
            code_challenge=params.get("code_challenge"),
        )
        return _redirect(redirect_uri, {"code": code, "state": params.get("state", "")})

    async def _token(self) -> Response | tuple[Response, int]:
        form = dict(await request.form)
        self.token_requests.append(form)
        if not self._client_authenticated(form):
            return jsonify({"error": "invalid_client"}), 401
        tampering, self._tampering = self._tampering, Tampering()
        if tampering.token_status is not None:
            return jsonify({"error": "server_error"}), tampering.token_status
        grant = self._grants.pop(form.get("code", ""), None)  # codes are single use
        if grant is None or not self._grant_matches(grant, form):
            return jsonify({"error": "invalid_grant"}), 400
        return jsonify(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "scope": "openid email profile",
                "id_token": self._id_token(grant, tampering),
            }
        )

    # --- Helpers ------------------------------------------------------------------------------

    def _client_authenticated(self, form: dict[str, str]) -> bool:
        if request.authorization is not None and request.authorization.type == "basic":
            given = (request.authorization.username, request.authorization.password)
        else:
            given = (form.get("client_id"), form.get("client_secret"))
        return given == (self.client_id, self.client_secret)

    @staticmethod
    def _grant_matches(grant: Grant, form: dict[str, str]) -> bool:
        if form.get("grant_type") != "authorization_code":
            return False
        if form.get("redirect_uri") != grant.redirect_uri:
            return False
        if grant.code_challenge is not None:
            return _s256(form.get("code_verifier", "")) == grant.code_challenge
        return True

    def _id_token(self, grant: Grant, tampering: Tampering) -> str:
        now = int(time.time())
        identity = grant.identity
        claims: dict[str, Any] = {
            "iss": tampering.issuer or self.url,
            "aud": tampering.aud or self.client_id,
            "sub": identity.sub,
            "email": identity.email,
            "email_verified": identity.email_verified,
            "name": identity.name,
            "iat": now,
            "exp": now
            + (TOKEN_LIFETIME_SECONDS if tampering.exp_offset is None else tampering.exp_offset),
        }
        nonce = tampering.nonce or grant.nonce
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(tampering.extra_claims)
        key = self.other_key if tampering.sign_with_other_key else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def _impostor_key(self) -> RSAKey:
        # Same kid as the real key, different key material: its tokens have a bad signature.
        return RSAKey.generate_key(2048, parameters={"kid": self.key.kid or "", "alg": "RS256"})

    @staticmethod
    def _new_key() -> RSAKey:
        return RSAKey.generate_key(
            2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"}
        )


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if urlsplit(uri).query else "?"
    return Response(status=302, headers={"Location": f"{uri}{separator}{urlencode(params)}"})
