"""Money as people read it: integer minor units and an ISO currency, in the active locale."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import number_format

from caredoor.core.brands.choices import CURRENCIES


def exponent(currency: str) -> int:
    return CURRENCIES.get(currency, 2)


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_money(amount_minor: int, currency: str) -> str:
    """``12000, "EUR"`` -> ``"120.00 EUR"`` (``"120,00 EUR"`` in German); negatives keep
    their sign."""
    places = exponent(currency)
    amount = number_format(
        to_major(amount_minor, currency), decimal_pos=places, use_l10n=True, force_grouping=True
    )
    return f"{amount} {currency}"
