"""The patient's receipt (PDF) of a real payment through localstripe: what it says, in the
patient's language and zone, with refunds and what is left paid."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, translation

from caredoor.core.payments import receipts
from caredoor.core.payments.access import patient_payments
from caredoor.core.payments.models import Billing, Payment, RefundReason, Voucher
from caredoor.core.payments.refunds import do_refund
from tests.payments_helpers import book_held, pay, priced
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


def paid(side, stripe, *, voucher: str = "", **brand_fields) -> Payment:  # type: ignore[no-untyped-def]
    _brand, _profile, session_type = priced(side, **brand_fields)
    _booking, payment = book_held(side, session_type, voucher=voucher)
    done = pay(side, payment, stripe)
    assert done.is_paid
    return fresh(side, done)


def fresh(side, payment: Payment) -> Payment:  # type: ignore[no-untyped-def]
    return patient_payments(side.patient, side.brand).get(pk=payment.pk)


def test_a_receipt_names_the_payment_the_session_and_a_partial_refund(world, localstripe):
    patient = world.a.patient
    patient.name = "Anna Müller"
    patient.time_zone = "America/New_York"
    patient.save()
    payment = paid(world.a, localstripe)
    do_refund(payment, 3000, reason=RefundReason.STAFF, note="Goodwill", actor=world.a.operator)
    payment = fresh(world.a, payment)

    data = receipts.receipt_pdf(payment)
    text = pdf_text(data)

    assert data.startswith(b"%PDF-")
    assert payment.receipt_number and payment.receipt_number in text
    assert "Brand A" in text and "a.test" in text
    assert "Receipt" in text
    # Billed to, by name (with its umlaut) and address.
    assert "Anna Müller" in text and "patient.a@example.test" in text
    # Paid at, in the patient's zone.
    zone = ZoneInfo("America/New_York")
    paid_at = dateformat.format(payment.succeeded_at.astimezone(zone), "j M Y, H:i")
    assert f"{paid_at} (America/New York)" in text
    # The session: type, time and specialist (no clinical data to show).
    booking = payment.booking
    start = dateformat.format(booking.start.astimezone(zone), "j M Y, H:i")
    end = dateformat.format(booking.end.astimezone(zone), "H:i")
    assert f"{start}\u2013{end} (America/New York)" in text
    assert "Dr. Listed" in text and "Session" in text
    # The quote's lines and the total, formatted.
    assert "Total paid" in text and "90.00 EUR" in text
    assert "Card" in text
    assert "Charged by" in text
    # The refund and what is left paid.
    refunded_on = dateformat.format(payment.refunds.get().succeeded_at.astimezone(zone), "j M Y")
    assert f"Refund on {refunded_on}" in text
    assert "-30.00 EUR" in text
    assert "Net paid" in text and "60.00 EUR" in text
    assert "Goodwill" not in text  # staff's internal reason is not the patient's receipt


def test_a_receipt_shows_the_voucher_line(world, localstripe):
    Voucher.objects.create(brand=world.a.brand, code="WELCOME", kind="percent", percent_off=10)
    payment = paid(world.a, localstripe, voucher="welcome")

    text = pdf_text(receipts.receipt_pdf(payment))

    assert "Voucher WELCOME" in text
    assert "-9.00 EUR" in text and "81.00 EUR" in text
    assert "Refund" not in text and "Net paid" not in text  # nothing refunded


def test_a_receipt_is_in_the_patients_language_when_the_brand_offers_it(world, localstripe):
    brand = world.a.brand
    brand.languages = ["en", "de"]
    brand.save()
    patient = world.a.patient
    patient.language = "de"
    patient.save()
    payment = paid(world.a, localstripe)
    do_refund(payment, 1050, reason=RefundReason.STAFF, note="Kulanz", actor=world.a.operator)

    text = pdf_text(receipts.receipt_pdf(fresh(world.a, payment)))

    assert "90,00 EUR" in text and "-10,50 EUR" in text and "79,50 EUR" in text
    with translation.override("de"):
        month = dateformat.format(payment.succeeded_at, "M")
    assert month in text
    assert translation.get_language() != "de"  # the override ended with the receipt


def test_a_language_the_brand_does_not_offer_falls_back_to_the_brands(world, localstripe):
    brand = world.a.brand
    brand.languages, brand.default_language = ["en"], "en"
    brand.save()
    patient = world.a.patient
    patient.language = "de"  # not offered here
    patient.save()
    payment = paid(world.a, localstripe)
    assert receipts.language_for(payment) == world.a.brand.default_language
    assert "90.00 EUR" in pdf_text(receipts.receipt_pdf(payment))


def test_specialist_billing_says_on_whose_behalf(world, localstripe):
    payment = paid(world.a, localstripe)
    payment.billing = Billing.CONNECT  # localstripe has no Connect: the receipt's wording only

    data = receipts.receipt_data(payment)

    assert data.charged_by == "Brand A on behalf of Dr. Listed"
    payment.billing = Billing.PLATFORM
    assert receipts.receipt_data(payment).charged_by == "Brand A"


def test_names_outside_latin1_survive_with_and_without_a_unicode_font(world, localstripe):
    patient = world.a.patient
    patient.name = "Łucja Müller"
    patient.save()
    payment = paid(world.a, localstripe)

    plain = pdf_text(receipts.receipt_pdf(payment, unicode_font=False))
    assert "Lucja Müller" in plain  # core font: transliterated, Latin-1 kept
    if receipts.unicode_font_available():
        assert "Łucja Müller" in pdf_text(receipts.receipt_pdf(payment, unicode_font=True))


def test_only_a_paid_payment_has_a_receipt(world, localstripe):
    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    with pytest.raises(ValueError):
        receipts.receipt_pdf(payment)


def test_transliteration():
    assert receipts.transliterate("Łódź \u2013 \u201cStraße\u201d") == 'Lódz - "Straße"'
    assert receipts.transliterate("Ñandú 1\u202f000") == "Ñandú 1 000"
    assert receipts.transliterate("東京") == "??"
