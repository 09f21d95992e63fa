"""Shared set-up for payment tests: a brand that takes payments, a priced specialist,
a patient with a held booking, and paying it through localstripe."""

from __future__ import annotations

from typing import Any

from caredoor.core.payments import checkout
from caredoor.core.payments.models import Payment
from tests.booking_helpers import listed_with_hours, local, make_type

PRICE = 9000  # 90.00 EUR, the listing's price


def paying_brand(side: Any, **fields: Any) -> Any:
    """``side.brand`` with the payments module and ``fields`` (commission, free first
    session, billing model, ...)."""
    brand = side.brand
    brand.modules = sorted({*brand.modules, "payments"})
    for name, value in fields.items():
        setattr(brand, name, value)
    brand.save()
    return brand


def priced(side: Any, **brand_fields: Any) -> tuple[Any, Any, Any]:
    """(brand, profile, session type): the side's specialist listed at ``PRICE`` on a brand
    that takes payments, open 9-17 Berlin time."""
    brand = paying_brand(side, **brand_fields)
    profile, _listings = listed_with_hours(side, [brand])
    return brand, profile, make_type(profile)


def book_held(
    side: Any, session_type: Any, *, hour: int = 10, days: int = 7, voucher: str = ""
) -> tuple[Any, Payment]:
    booking, payment = checkout.do_book(
        patient=side.patient,
        brand=side.brand,
        session_type=session_type,
        start=local(hour, days=days),
        voucher_code=voucher,
    )
    assert payment is not None
    return booking, payment


def pay(side: Any, payment: Payment, stripe: Any, card: str | None = None) -> Payment:
    """Pay ``payment`` with a card made through localstripe (as the pay page does)."""
    method = stripe.card(card) if card else stripe.card()
    return checkout.do_attempt(payment, method, actor=side.patient)
