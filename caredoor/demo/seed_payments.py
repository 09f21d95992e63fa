"""Money in the demo: a voucher at Harbor Therapy and paid sessions for the transactions,
the monthly report and the receipts to show.

The payments are real ones against localstripe (the local Stripe stand-in that
``make run`` starts before seeding): a card token made with the publishable key, as
Stripe.js would, then the same PaymentIntent call and the same ``apply_intent`` as a
patient's checkout, so the ledger and ``reconcile_payments`` agree with "Stripe". Without
localstripe running the payments are skipped (and made on the next ``make run``).
"""

from __future__ import annotations

import httpx

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.payments import checkout, pricing, stripe_api
from caredoor.core.payments.models import Payment, Voucher, VoucherKind

VOUCHERS = [
    # (brand, code, percent off, uses in all)
    ("harbor", "WELCOME10", 10, 500),
]
TEST_CARD = "4242424242424242"


def _vouchers(brands: dict[str, Brand], log) -> None:  # type: ignore[no-untyped-def]
    for slug, code, percent, uses in VOUCHERS:
        brand = brands.get(slug)
        if brand is None or Voucher.objects.filter(brand=brand, code=code).exists():
            continue
        Voucher.objects.create(
            brand=brand, code=code, kind=VoucherKind.PERCENT, percent_off=percent, max_uses=uses
        )
        log(f"voucher   {code}: {percent} % off at {brand.name}")


def _card() -> str | None:
    """A card id from localstripe, as Stripe.js makes one; None if it is not running."""
    cfg = stripe_api.config()
    if not cfg["api_base"] or not cfg["publishable_key"]:
        return None
    try:
        answer = httpx.post(
            f"{cfg['api_base']}/v1/tokens",
            data={
                "card[number]": TEST_CARD,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
                "key": cfg["publishable_key"],
            },
            timeout=5,
        )
        answer.raise_for_status()
    except httpx.HTTPError:
        return None
    return str(answer.json()["card"]["id"])


def _pay(booking: Booking, card: str) -> Payment | None:
    quote = pricing.quote(
        patient=booking.patient,
        brand=booking.brand,
        session_type=booking.session_type,
        exclude_booking=booking.pk,
    )
    if not quote.requires_payment:
        return None
    payment = checkout.payment_from_quote(quote, booking, "")
    payment.attempts = 1
    payment.save()
    intent = stripe_api.create_intent(payment, card, attempt=1)
    return checkout.apply_intent(payment, intent)


def seed_payments(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    _vouchers(brands, log)
    unpaid = (
        Booking.objects.filter(
            brand__in=[b for b in brands.values() if b.has_module("payments")],
            status__in=[BookingStatus.CONFIRMED, BookingStatus.COMPLETED],
            price_minor__gt=0,
            payments__isnull=True,
        )
        .select_related("brand", "patient", "session_type")
        .order_by("start")
    )
    if not unpaid.exists():
        return
    card = _card()
    if card is None:
        log("payments  skipped: localstripe is not running (make run starts it)")
        return
    paid = 0
    for booking in unpaid:
        card = _card() or card
        payment = _pay(booking, card)
        if payment is not None and payment.is_paid:
            paid += 1
    log(f"payments  {paid} sessions paid through localstripe")
