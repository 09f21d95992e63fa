"""Booking and paying in the patient portal: the confirm page explains the price (vouchers
included), booking a priced session holds it and leads to the pay page, the card attempt
is charged through localstripe and confirms the booking, and nobody else reaches any of it."""

from __future__ import annotations

import json

import pytest

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments.models import Payment, PaymentStatus, Voucher
from caredoor.portals.patient.booking_display import slot_value
from tests.booking_helpers import local
from tests.payments_helpers import PRICE, book_held, priced
from tests.stripe_server import CARD_DECLINED

pytestmark = pytest.mark.django_db


def confirm_url(profile, session_type, start, **extra):  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={v}" for k, v in {"type": session_type.pk, **extra}.items())
    return f"/specialists/{profile.pk}/book/confirm/?{query}&start={slot_value(start)}"


def test_the_confirm_page_explains_the_price_and_a_voucher(world, client_for, localstripe):
    brand, profile, session_type = priced(world.a)
    Voucher.objects.create(brand=brand, code="WELCOME10", kind="percent", percent_off=10)
    client = client_for(world.a.patient, brand)
    start = local(10)

    page = client.get(confirm_url(profile, session_type, start)).content.decode()
    assert "90.00 EUR" in page and "Book and pay" in page

    page = client.get(confirm_url(profile, session_type, start, voucher="welcome10")).content
    text = page.decode()
    assert "Voucher WELCOME10" in text and "-9.00 EUR" in text and "81.00 EUR" in text

    bad = client.get(confirm_url(profile, session_type, start, voucher="NOPE")).content.decode()
    assert "This voucher code is not valid here." in bad and "90.00 EUR" in bad


def test_booking_a_priced_session_holds_it_and_the_card_confirms_it(world, client_for, localstripe):
    brand, profile, session_type = priced(world.a)
    client = client_for(world.a.patient, brand)
    start = local(10)
    answer = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start), "voucher": "NOPE"},
    )
    assert answer.status_code == 400  # a voucher that does not apply books nothing
    assert not Booking.objects.exists()

    answer = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.PENDING_PAYMENT
    assert answer["Location"] == f"/sessions/{booking.pk}/pay/"

    answer = client.get(f"/sessions/{booking.pk}/pay/")
    page = answer.content.decode()
    assert "Pay 90.00 EUR" in page and localstripe.base in page  # Stripe.js from localstripe
    # Only the pay page lets Stripe.js (here localstripe's) in, and its API.
    policy = answer["Content-Security-Policy"]
    assert f"script-src 'self' 'wasm-unsafe-eval' {localstripe.base}" in policy
    assert localstripe.base in policy.split("connect-src")[1].split(";")[0]
    elsewhere = client.get(f"/sessions/{booking.pk}/")["Content-Security-Policy"]
    assert localstripe.base not in elsewhere and "stripe" not in elsewhere

    declined = client.post(
        f"/sessions/{booking.pk}/pay/attempt/",
        json.dumps({"method": localstripe.card(CARD_DECLINED)}),
        content_type="application/json",
    ).json()
    assert declined["status"] == "failed" and "declined" in declined["message"]
    assert Booking.objects.get().status == BookingStatus.PENDING_PAYMENT

    paid = client.post(
        f"/sessions/{booking.pk}/pay/attempt/",
        json.dumps({"method": localstripe.card()}),
        content_type="application/json",
    ).json()
    assert paid["status"] == "succeeded" and paid["booking_status"] == "confirmed"
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert Payment.objects.get().amount_minor == PRICE
    assert client.get(f"/sessions/{booking.pk}/pay/")["Location"] == f"/sessions/{booking.pk}/"


def test_a_voucher_on_the_pay_page_reprices_and_a_full_one_confirms(world, client_for, localstripe):
    brand, _profile, session_type = priced(world.a)
    Voucher.objects.create(brand=brand, code="HALF", kind="percent", percent_off=50)
    Voucher.objects.create(brand=brand, code="FREE", kind="fixed", amount_off_minor=50000)
    booking, payment = book_held(world.a, session_type)
    client = client_for(world.a.patient, brand)

    client.post(f"/sessions/{booking.pk}/pay/voucher/", {"code": "half"})
    payment.refresh_from_db()
    assert (payment.amount_minor, payment.discount_minor, payment.share_minor) == (4500, 4500, 7200)
    assert "Pay 45.00 EUR" in client.get(f"/sessions/{booking.pk}/pay/").content.decode()

    client.post(f"/sessions/{booking.pk}/pay/voucher/", {"code": "FREE"})
    payment.refresh_from_db()
    booking.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_minor == 0
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize(
    "who", ["other_patient", "sister", "specialist", "org_admin", "operator", "b_patient"]
)
def test_nobody_else_reaches_the_pay_page_and_nothing_changes(world, client_for, localstripe, who):
    from tests import factories

    brand, _profile, session_type = priced(world.a)
    booking, payment = book_held(world.a, session_type)
    if who == "other_patient":
        other = factories.make_user("other.patient@example.test")
        factories.grant(other, "patient", network=world.a.network, brand=brand)
        client = client_for(other, brand)
    elif who == "sister":
        client = client_for(world.a.patient, world.a.sister)
    elif who == "b_patient":
        client = client_for(world.b.patient, brand)
    else:
        client = client_for(getattr(world.a, who), brand)
    method = localstripe.card()
    for answer in (
        client.get(f"/sessions/{booking.pk}/pay/"),
        client.get(f"/sessions/{booking.pk}/pay/status/"),
        client.post(
            f"/sessions/{booking.pk}/pay/attempt/",
            json.dumps({"method": method}),
            content_type="application/json",
        ),
        client.post(f"/sessions/{booking.pk}/pay/voucher/", {"code": "X"}),
    ):
        assert answer.status_code in (403, 404), answer.status_code
    payment.refresh_from_db()
    assert (payment.status, payment.attempts) == (PaymentStatus.REQUIRES_PAYMENT, 0)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PENDING_PAYMENT
