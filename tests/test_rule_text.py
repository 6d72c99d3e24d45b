"""The booking rules in the words customers read (server/routes/rule_text.py; no database)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.routes.rule_text import RuleTexts, span, span_parts


@dataclass(frozen=True)
class Rules:
    min_notice_minutes: int = 0
    horizon_days: int | None = None
    buffer_minutes: int = 0
    cancel_cutoff_minutes: int = 0


@pytest.mark.parametrize(
    ("minutes", "words", "parts"),
    [
        (1, "1 minute", (1, "minutes")),
        (10, "10 minutes", (10, "minutes")),
        (60, "1 hour", (1, "hours")),
        (90, "90 minutes", (90, "minutes")),
        (120, "2 hours", (2, "hours")),
        (1440, "24 hours", (24, "hours")),
        (2880, "2 days", (2, "days")),
        (43200, "30 days", (30, "days")),
    ],
)
def test_a_span_is_said_in_the_unit_a_person_would_use(
    minutes: int, words: str, parts: tuple[int, str]
) -> None:
    assert span(minutes) == words
    assert span_parts(minutes) == parts


def test_each_rule_reads_as_the_sentence_customers_see() -> None:
    texts = RuleTexts.of(
        Rules(
            min_notice_minutes=120, horizon_days=60, buffer_minutes=10, cancel_cutoff_minutes=1440
        ),
        default_horizon_days=30,
    )
    assert texts.notice == "Book at least 2 hours ahead"
    assert texts.horizon == "Book up to 60 days ahead"
    assert texts.buffer == "10 minutes between clients"
    assert texts.cancellation == "Free cancellation until 24 hours before"
    assert texts.cancel_span == "24 hours"


def test_rules_that_are_off_say_nothing_or_the_plain_default() -> None:
    texts = RuleTexts.of(Rules(), default_horizon_days=30)
    assert texts.notice is None and texts.buffer is None and texts.cancel_span is None
    assert texts.horizon == "Book up to 30 days ahead"
    assert texts.cancellation == "Free cancellation until the start"
