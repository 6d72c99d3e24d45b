"""The `Appointly-Signature` header: HMAC-SHA256 with the webhook's secret over "{t}.{body}",
the way Stripe signs its events, so a receiver can check both origin and freshness."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Appointly-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a label, not a secret)
# The secret is stored encrypted under a key derived for this purpose (server.infra.secret_box).
SECRET_PURPOSE = "webhook-secret"  # noqa: S105 (a key-derivation label)


def new_secret() -> str:
    """A fresh signing secret, shown to the provider once."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (UNIX seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
