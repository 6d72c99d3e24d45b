"""Rules for account input: what counts as an email, a password and a name."""

from __future__ import annotations

import re

from server.domain.rules import RuleBroken

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
# Deliberately permissive: one @, a dot in the domain, no spaces. Deliverability is the
# mail server's call; this only catches typing mistakes.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def normalise_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise RuleBroken(
            "invalid_email",
            "That doesn't look like an email address.",
            fields={"email": "Enter a valid email address."},
        )
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleBroken(
            "weak_password",
            f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.",
            fields={"password": f"At least {MIN_PASSWORD_LENGTH} characters."},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RuleBroken(
            "weak_password",
            "That password is too long.",
            fields={"password": f"At most {MAX_PASSWORD_LENGTH} characters."},
        )
    return password


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not 1 <= len(name) <= 200:
        raise RuleBroken(
            "invalid_name",
            "Tell us your name (up to 200 characters).",
            fields={"name": "Enter your name."},
        )
    return name
