"""Secrets the server must read back (a CalDAV password), encrypted at rest.

The key is derived from SECRET_KEY with HKDF (SHA-256, a purpose label as `info`), so it is
never stored and a different purpose can never decrypt these values. Fernet authenticates:
a value written under another SECRET_KEY is refused, not misread.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretUnreadable(Exception):
    """The value was encrypted under another SECRET_KEY (or was tampered with)."""


def _fernet(secret_key: str, purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"appointly-secret-box",
        info=purpose.encode(),
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret_key: str, purpose: str, value: str) -> str:
    """`value` encrypted under a key derived from `secret_key` for `purpose`."""
    return _fernet(secret_key, purpose).encrypt(value.encode()).decode()


def decrypt_secret(secret_key: str, purpose: str, token: str) -> str:
    """What `encrypt_secret` encrypted; SecretUnreadable under another key or purpose."""
    try:
        return _fernet(secret_key, purpose).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("the stored secret cannot be read with this SECRET_KEY") from error
