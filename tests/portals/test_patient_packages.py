"""Packages in the patient portal: the booking page links to a specialist's packages, the
packages page lists the offers and the patient's own packages, buying leads to a pay page
that checkout.js drives (same data attributes) and the card is charged through
localstripe; the confirm page then says "Paid from your package (session k of n)" and
books at once. Nobody else sees, pays or buys anything, and nothing changes for them."""

from __future__ import annotations

import json

import pytest

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments import packages
from caredoor.core.payments.models import (
    PackageOffer,
    PackagePurchase,
    PackageStatus,
    Payment,
    PaymentStatus,
)
from caredoor.portals.patient.booking_display import slot_value
from tests import factories
from tests.booking_helpers import local
from tests.payments_helpers import pay, priced
from tests.stripe_server import CARD_DECLINED

pytestmark = pytest.mark.django_db


def offer_for(side, profile, **fields):  # type: ignore[no-untyped-def]
    values = {"name": "Three sessions", "sessions": 3, "price_minor": 25000, **fields}
    return PackageOffer.objects.create(
        brand=side.brand, profile=profile, currency=side.brand.currency, **values
    )


def confirm_url(profile, session_type, start):  # type: ignore[no-untyped-def]
    return (
        f"/specialists/{profile.pk}/book/confirm/?type={session_type.pk}&start={slot_value(start)}"
    )


def test_buy_pay_and_book_from_a_package(world, client_for, localstripe):
    brand, profile, session_type = priced(world.a)
    client = client_for(world.a.patient, brand)
    start = local(10)

    page = client.get(confirm_url(profile, session_type, start)).content.decode()
    assert f"/specialists/{profile.pk}/packages/" not in page  # nothing on offer yet
    offer = offer_for(world.a, profile)
    PackageOffer.objects.create(  # not for sale: not listed
        brand=brand,
        profile=profile,
        name="Old deal",
        sessions=5,
        price_minor=1,
        currency="EUR",
        is_active=False,
    )
    page = client.get(confirm_url(profile, session_type, start)).content.decode()
    assert f"/specialists/{profile.pk}/packages/" in page

    page = client.get(f"/specialists/{profile.pk}/packages/").content.decode()
    assert "Three sessions" in page and "250.00 EUR" in page and "83.33 EUR" in page
    assert "Old deal" not in page and "Your packages" not in page

    answer = client.post(f"/specialists/{profile.pk}/packages/{offer.pk}/buy/")
    purchase = PackagePurchase.objects.get()
    assert answer["Location"] == f"/packages/{purchase.pk}/pay/"
    assert purchase.status == PackageStatus.PENDING and purchase.patient == world.a.patient

    page = client.get(f"/packages/{purchase.pk}/pay/").content.decode()
    for attribute in (
        'id="pay-form"',
        'data-amount="25000"',
        'data-currency="eur"',
        f'data-attempt-url="/packages/{purchase.pk}/pay/attempt/"',
        f'data-status-url="/packages/{purchase.pk}/pay/status/"',
        'id="card-element"',
        'id="pay-button"',
        'id="pay-status"',
        "checkout.js",
    ):
        assert attribute in page, attribute
    assert "Pay 250.00 EUR" in page and localstripe.base in page
    listing = client.get(f"/specialists/{profile.pk}/packages/").content.decode()
    assert "Waiting for payment" in listing and f"/packages/{purchase.pk}/pay/" in listing

    declined = client.post(
        f"/packages/{purchase.pk}/pay/attempt/",
        json.dumps({"method": localstripe.card(CARD_DECLINED)}),
        content_type="application/json",
    ).json()
    assert declined["status"] == "failed" and declined["booking_status"] == "pending_payment"

    paid = client.post(
        f"/packages/{purchase.pk}/pay/attempt/",
        json.dumps({"method": localstripe.card()}),
        content_type="application/json",
    ).json()
    assert paid["status"] == "succeeded" and paid["booking_status"] == "confirmed"
    assert paid["next"] == f"/specialists/{profile.pk}/packages/"
    status = client.get(f"/packages/{purchase.pk}/pay/status/").json()
    assert status["booking_status"] == "confirmed"
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.ACTIVE
    # The pay page of a paid package leads back to the packages.
    assert client.get(f"/packages/{purchase.pk}/pay/")["Location"] == (
        f"/specialists/{profile.pk}/packages/"
    )
    listing = client.get(f"/specialists/{profile.pk}/packages/").content.decode()
    assert "Your packages" in listing and "3 of 3" in listing and "Active" in listing

    page = client.get(confirm_url(profile, session_type, start)).content.decode()
    assert "Paid from your package (session 1 of 3)" in page and "Book this session" in page
    assert "See your packages with this specialist" in page
    answer = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.CONFIRMED
    assert answer["Location"] == f"/sessions/{booking.pk}/"
    assert Payment.objects.count() == 1  # the package's only
    assert "2 of 3" in client.get(f"/specialists/{profile.pk}/packages/").content.decode()
    # The rest of the portal copes with a session paid from a package and a package payment.
    assert client.get(f"/sessions/{booking.pk}/").status_code == 200
    history = client.get("/payments/")
    assert history.status_code == 200 and "250.00 EUR" in history.content.decode()
    receipt = client.get(f"/payments/{purchase.payment_id}/receipt.pdf")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    page = client.get(confirm_url(profile, session_type, local(12))).content.decode()
    assert "Paid from your package (session 2 of 3)" in page


@pytest.mark.parametrize(
    "who",
    [
        "other_patient",
        "sister",
        "specialist",
        "org_admin",
        "org_staff",
        "finance",
        "affiliate",
        "operator",
        "b_patient",
        "b_operator",
        "outsider",
    ],
)
def test_nobody_else_sees_pays_or_buys_and_nothing_changes(world, client_for, localstripe, who):
    brand, profile, _type = priced(world.a)
    offer = offer_for(world.a, profile)
    purchase = packages.do_buy(offer, patient=world.a.patient, brand=brand)
    if who == "other_patient":
        other = factories.make_user("other.patient@example.test")
        factories.grant(other, "patient", network=world.a.network, brand=brand)
        client = client_for(other, brand)
    elif who == "sister":
        client = client_for(world.a.patient, world.a.sister)
    elif who == "b_patient":
        client = client_for(world.b.patient, brand)
    elif who == "b_operator":
        client = client_for(world.b.operator, brand)
    elif who == "outsider":
        client = client_for(world.outsider, brand)
    else:
        client = client_for(getattr(world.a, who), brand)
    method = localstripe.card()
    for answer in (
        client.get(f"/packages/{purchase.pk}/pay/"),
        client.get(f"/packages/{purchase.pk}/pay/status/"),
        client.post(
            f"/packages/{purchase.pk}/pay/attempt/",
            json.dumps({"method": method}),
            content_type="application/json",
        ),
    ):
        assert answer.status_code in (403, 404), answer.status_code
    if who != "other_patient":
        listing = client.get(f"/specialists/{profile.pk}/packages/")
        assert listing.status_code in (403, 404), listing.status_code
    else:  # another patient of the brand sees the offers, not someone else's package
        page = client.get(f"/specialists/{profile.pk}/packages/").content.decode()
        assert "Three sessions" in page and "Your packages" not in page
    if who != "other_patient":
        answer = client.post(f"/specialists/{profile.pk}/packages/{offer.pk}/buy/")
        assert answer.status_code in (403, 404), answer.status_code
    payment = Payment.objects.get(pk=purchase.payment_id)
    assert (payment.status, payment.attempts) == (PaymentStatus.REQUIRES_PAYMENT, 0)
    assert PackagePurchase.objects.count() == 1
    assert PackagePurchase.objects.get().status == PackageStatus.PENDING


def test_another_brands_offer_is_not_reachable(world, client_for, localstripe):
    _brand, profile, _type = priced(world.a)
    offer = offer_for(world.a, profile)
    b_brand, b_profile, _t = priced(world.b)
    client = client_for(world.b.patient, b_brand)
    # Brand A's specialist is not listed on brand B; the offer id on B's specialist neither.
    assert client.get(f"/specialists/{profile.pk}/packages/").status_code == 404
    answer = client.post(f"/specialists/{b_profile.pk}/packages/{offer.pk}/buy/")
    assert answer.status_code == 404
    assert not PackagePurchase.objects.exists()


def test_a_paid_package_is_not_paid_twice(world, client_for, localstripe):
    brand, profile, _type = priced(world.a)
    purchase = packages.do_buy(offer_for(world.a, profile), patient=world.a.patient, brand=brand)
    pay(world.a, purchase.payment, localstripe)
    client = client_for(world.a.patient, brand)
    again = client.post(
        f"/packages/{purchase.pk}/pay/attempt/",
        json.dumps({"method": localstripe.card()}),
        content_type="application/json",
    ).json()
    assert again["status"] == "succeeded"
    payment = Payment.objects.get(pk=purchase.payment_id)
    assert payment.attempts == 1
