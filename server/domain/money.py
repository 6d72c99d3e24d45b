"""Amounts in minor units, written for people."""

from __future__ import annotations

# Currencies whose minor unit is the major unit (price_cents counts whole yen).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})


def format_amount(minor_units: int, currency: str) -> str:
    """ "45.00 GBP", "1200 JPY": plain text for e-mails and first paints."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{minor_units} {currency}"
    return f"{minor_units // 100}.{minor_units % 100:02d} {currency}"
