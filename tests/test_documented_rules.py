"""The OpenAPI document states exactly what the domain's input rules accept: for any text, the
documented pattern and length agree with the rule (no database; Hypothesis writes the text)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.accounts import check_password, clean_name, normalise_email
from server.domain.bookings import clean_customer_details
from server.domain.providers import clean_phone
from server.domain.rules import RuleBroken
from server.routes import documented_rules as rules


def accepted(rule: Callable[[str], object], text: str) -> bool:
    try:
        rule(text)
    except RuleBroken:
        return False
    return True


def documented(schema: dict[str, Any], text: str, max_length: int) -> bool:
    """What a JSON Schema validator makes of `text` (the request model enforces max_length)."""
    limit = min(schema.get("maxLength", max_length), max_length)
    return (
        schema.get("minLength", 0) <= len(text) <= limit
        and re.search(schema["pattern"], text) is not None
    )


def booking_phone(text: str) -> None:
    clean_customer_details(name="A", email="a@example.com", phone=text, notes=None, timezone=None)


# Text near each rule's edges: the characters the rules care about, some whitespace, a NUL.
def texts(alphabet: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(st.sampled_from(alphabet + " \t\n\x00\u00a0"), max_size=80),
        st.text(max_size=80),
    )


EMAILS = st.one_of(
    texts("ab@.-"),
    st.builds(
        lambda pad, local, domain, tld, end: f"{pad}{local}@{domain}.{tld}{end}",
        st.sampled_from(["", " ", "\t"]),
        st.text(st.sampled_from("ab.\x00 "), min_size=0, max_size=70),
        st.text(st.sampled_from("ab.-@"), min_size=0, max_size=5),
        st.text(st.sampled_from("co.m "), min_size=0, max_size=4),
        st.sampled_from(["", " ", "\n"]),
    ),
)
PHONES = texts("+0123456789().- ")

CASES: list[tuple[str, dict[str, Any], Callable[[str], object], st.SearchStrategy[str], int]] = [
    ("email", rules.EMAIL, normalise_email, EMAILS, rules.MAX_EMAIL_LENGTH),
    ("password", rules.PASSWORD, check_password, texts("ab"), 4096),
    ("name", rules.NAME, clean_name, texts("ab"), rules.MAX_NAME_LENGTH),
    ("provider phone", rules.PHONE, clean_phone, PHONES, 100),
    ("booking phone", rules.PHONE, booking_phone, PHONES, 40),
]


@pytest.mark.parametrize(
    ("schema", "rule", "strategy", "max_length"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_documented_pattern_accepts_exactly_what_the_rule_accepts(
    schema: dict[str, Any],
    rule: Callable[[str], object],
    strategy: st.SearchStrategy[str],
    max_length: int,
) -> None:
    @settings(max_examples=400, deadline=None, database=None)
    @given(text=strategy)
    def agree(text: str) -> None:
        if "\x00" in text:
            # The edge refuses a NUL before any rule runs; the document must refuse it too.
            assert not documented(schema, text, max_length)
            return
        assert documented(schema, text, max_length) == accepted(rule, text), repr(text)

    agree()


def test_long_passwords_follow_the_rule_not_just_the_request_limit() -> None:
    assert not documented(rules.PASSWORD, "x" * 1025, 4096)
    assert not accepted(check_password, "x" * 1025)
