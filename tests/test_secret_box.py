"""Secrets the server reads back are encrypted under a key derived from SECRET_KEY."""

from __future__ import annotations

import pytest

from server.infra.secret_box import SecretUnreadable, decrypt_secret, encrypt_secret


def test_a_secret_reads_back_only_with_the_same_secret_key_and_purpose() -> None:
    token = encrypt_secret("key-one", "caldav-password", "hunter2")
    assert "hunter2" not in token
    assert decrypt_secret("key-one", "caldav-password", token) == "hunter2"
    with pytest.raises(SecretUnreadable):
        decrypt_secret("key-two", "caldav-password", token)
    with pytest.raises(SecretUnreadable):
        decrypt_secret("key-one", "webhook-secret", token)


def test_the_same_secret_encrypts_differently_each_time() -> None:
    assert encrypt_secret("k", "p", "same") != encrypt_secret("k", "p", "same")
