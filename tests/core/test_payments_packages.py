"""Packages of sessions: bought and paid through localstripe (the real Stripe code path),
used one session per booking (confirmed at once, "session k of n"), the ledger after the
purchase, each use and the last one, sessions given back by cancellations, expiry, staff
refunds of unused sessions only, and nobody else's package paying anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caredoor.core.booking.models import BookingStatus
from caredoor.core.payments import cancellation, checkout, ledger, packages, pricing, refunds
from caredoor.core.payments.models import (
    Account,
    PackageOffer,
    PackagePurchase,
    PackageStatus,
    PackageUse,
    Payment,
    PaymentStatus,
    RefundReason,
)
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing
from tests import factories
from tests.booking_helpers import local
from tests.payments_helpers import PRICE, pay, priced
from tests.stripe_server import CARD_DECLINED

pytestmark = pytest.mark.django_db

PACKAGE_PRICE = 25000  # 3 sessions for 250.00 EUR: fee 20 % = 5000, share 20000


def offer_for(side, profile, sessions=3, price=PACKAGE_PRICE, **fields):  # type: ignore[no-untyped-def]
    return PackageOffer.objects.create(
        brand=side.brand,
        profile=profile,
        name="Three sessions",
        sessions=sessions,
        price_minor=price,
        currency=side.brand.currency,
        **fields,
    )


def bought(side, profile, localstripe, **offer_fields):  # type: ignore[no-untyped-def]
    offer = offer_for(side, profile, **offer_fields)
    purchase = packages.do_buy(offer, patient=side.patient, brand=side.brand)
    paid = pay(side, purchase.payment, localstripe)
    assert paid.status == PaymentStatus.SUCCEEDED
    purchase.refresh_from_db()
    return purchase


def balances(brand, profile):  # type: ignore[no-untyped-def]
    c = brand.currency

    def of(account, **kw):  # type: ignore[no-untyped-def]
        return ledger.balance(account, brand=brand, **kw).get(c, 0)

    return {
        "cash": of(Account.CASH),
        "prepaid": of(Account.PREPAID),
        "owed": -of(Account.SPECIALIST_PAYABLE, profile_id=profile.pk),
        "fees": -of(Account.PLATFORM_FEES),
    }


def book(side, session_type, hour=10, days=7):  # type: ignore[no-untyped-def]
    return checkout.do_book(
        patient=side.patient,
        brand=side.brand,
        session_type=session_type,
        start=local(hour, days=days),
    )


def test_buying_is_pending_until_stripe_says_paid_then_prepaid(world, localstripe):
    brand, profile, _type = priced(world.a)
    offer = offer_for(world.a, profile)
    purchase = packages.do_buy(offer, patient=world.a.patient, brand=brand)
    payment = purchase.payment
    assert purchase.status == PackageStatus.PENDING and payment.booking_id is None
    assert (payment.amount_minor, payment.fee_minor, payment.share_minor) == (25000, 5000, 20000)
    # Buying again while unpaid reuses the same purchase.
    assert packages.do_buy(offer, patient=world.a.patient, brand=brand).pk == purchase.pk

    failed = pay(world.a, payment, localstripe, CARD_DECLINED)
    assert failed.status == PaymentStatus.FAILED
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.PENDING
    assert balances(brand, profile)["cash"] == 0

    paid = pay(world.a, payment, localstripe)
    assert paid.status == PaymentStatus.SUCCEEDED and paid.intent_id.startswith("pi_")
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.ACTIVE
    assert purchase.expires_at > timezone.now() + timedelta(days=364)
    assert balances(brand, profile) == {"cash": 25000, "prepaid": -25000, "owed": 0, "fees": 0}
    # Paying again is a no-op; a paid package cannot be attempted once more.
    assert checkout.sync(paid).status == PaymentStatus.SUCCEEDED
    assert balances(brand, profile)["cash"] == 25000


def test_sessions_are_paid_from_the_package_and_the_ledger_sums_exactly(world, localstripe):
    brand, profile, session_type = priced(world.a)
    purchase = bought(world.a, profile, localstripe)

    q = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert q.package == purchase and q.total_minor == 0 and not q.requires_payment
    assert ("Paid from your package (session 1 of 3)", "-90.00 EUR") in q.explanation

    first, payment = book(world.a, session_type, hour=10)
    assert payment is None and first.status == BookingStatus.CONFIRMED
    assert Payment.objects.count() == 1  # only the package's
    assert balances(brand, profile) == {
        "cash": 25000,
        "prepaid": -16667,
        "owed": 6667,
        "fees": 1666,
    }

    q = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert ("Paid from your package (session 2 of 3)", "-90.00 EUR") in q.explanation
    book(world.a, session_type, hour=12)
    book(world.a, session_type, hour=14)
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.USED_UP and packages.sessions_left(purchase) == 0
    # Used up: prepaid back to 0, the specialist owed the whole share, the platform its fee.
    assert balances(brand, profile) == {"cash": 25000, "prepaid": 0, "owed": 20000, "fees": 5000}

    # The next session is priced again.
    q = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert q.package is None and q.total_minor == PRICE


def test_a_cancellation_gives_the_session_back_a_late_one_does_not(world, localstripe):
    brand, profile, session_type = priced(world.a)
    purchase = bought(world.a, profile, localstripe, sessions=2, price=18001)
    early, _p = book(world.a, session_type, hour=10, days=7)
    late, _p = book(world.a, session_type, hour=10, days=1)
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.USED_UP
    assert balances(brand, profile)["prepaid"] == 0

    # By the patient inside the free window (a week ahead): the session comes back.
    cancellation.do_cancel(early, by="patient", actor=world.a.patient)
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.ACTIVE and packages.sessions_left(purchase) == 1
    use = PackageUse.objects.get(booking=early)
    assert use.returned_at is not None
    assert balances(brand, profile)["prepaid"] == -packages.unused_value(purchase) != 0
    # Repeated returns change nothing.
    packages.return_for_booking(early)
    assert PackageUse.objects.filter(returned_at__isnull=False).count() == 1

    # Late (tomorrow, inside the 24 hours): the session stays used.
    late.refresh_from_db()
    cancellation.do_cancel(late, by="patient", actor=world.a.patient)
    assert PackageUse.objects.get(booking=late).returned_at is None
    assert packages.sessions_left(purchase) == 1

    # Booking again takes the session that came back; using all sums exactly.
    again, _p = book(world.a, session_type, hour=12, days=8)
    assert again.status == BookingStatus.CONFIRMED
    assert balances(brand, profile) == {"cash": 18001, "prepaid": 0, "owed": 14401, "fees": 3600}

    # By the specialist: always given back.
    cancellation.do_cancel(again, by="specialist", actor=world.a.specialist)
    assert packages.sessions_left(purchase) == 1


def test_an_expired_package_pays_nothing(world, localstripe):
    brand, profile, session_type = priced(world.a)
    purchase = bought(world.a, profile, localstripe)
    PackagePurchase.objects.filter(pk=purchase.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    q = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert q.package is None and q.total_minor == PRICE
    purchase.refresh_from_db()
    assert packages.status_now(purchase) == PackageStatus.EXPIRED
    with pytest.raises(ValidationError):
        booking, _ = book(world.a, session_type)  # held for payment: no package use
        packages.use(purchase, booking)
    assert packages.expire_due() == 1
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.EXPIRED


def test_nobody_else_uses_it_and_no_double_use(world, localstripe):
    brand, profile, session_type = priced(world.a)
    purchase = bought(world.a, profile, localstripe, sessions=2, price=10000)
    # Another patient on the same brand pays the normal price.
    other = world.a.org_staff  # any other user on the brand
    q = pricing.quote(patient=other, brand=brand, session_type=session_type)
    assert q.package is None
    # Another brand's patient neither.
    q = pricing.quote(patient=world.b.patient, brand=brand, session_type=session_type)
    assert q.package is None

    booking, _p = book(world.a, session_type)
    # Repeated use for the same booking is one use.
    assert packages.use(purchase, booking).pk == packages.use(purchase, booking).pk
    assert PackageUse.objects.count() == 1
    # A booking of another patient of the brand cannot spend it.
    second = factories.make_user("second.patient@example.test")
    factories.grant(second, "patient", network=world.a.network, brand=brand)
    q = pricing.quote(patient=second, brand=brand, session_type=session_type)
    assert q.package is None and q.total_minor == PRICE
    foreign, _pay = checkout.do_book(
        patient=second, brand=brand, session_type=session_type, start=local(14)
    )
    with pytest.raises(ValidationError):
        packages.use(purchase, foreign)
    book(world.a, session_type, hour=12)
    with pytest.raises(ValidationError):  # used up
        third, _p = book(world.a, session_type, hour=15)
        packages.use(purchase, third)
    assert PackageUse.objects.filter(purchase=purchase).count() == 2


def test_staff_refund_only_for_unused_sessions(world, localstripe):
    brand, profile, session_type = priced(world.a)
    purchase = bought(world.a, profile, localstripe, sessions=4, price=20000)
    book(world.a, session_type)
    payment = purchase.payment
    with pytest.raises(ValidationError):
        refunds.do_refund(payment, 15001, reason=RefundReason.STAFF, note="moving away")
    refund = refunds.do_refund(payment, 15000, reason=RefundReason.STAFF, note="moving away")
    assert refund.status == "succeeded"
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.REFUNDED
    assert balances(brand, profile) == {"cash": 5000, "prepaid": 0, "owed": 4000, "fees": 1000}
    q = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert q.package is None


def test_an_offer_elsewhere_or_inactive_cannot_be_bought(world, localstripe):
    brand, profile, _type = priced(world.a)
    offer = offer_for(world.a, profile, is_active=False)
    with pytest.raises(ValidationError):
        packages.do_buy(offer, patient=world.a.patient, brand=brand)
    offer.is_active = True
    offer.save()
    with pytest.raises(ValidationError):
        packages.do_buy(offer, patient=world.b.patient, brand=world.b.brand)
    # A specialist hidden from the brand (not approved there) sells no packages either.
    Listing.objects.filter(brand=brand, profile=profile).update(status=ListingStatus.HIDDEN)
    with pytest.raises(ValidationError, match="not on offer"):
        packages.do_buy(offer, patient=world.a.patient, brand=brand)
    assert not PackagePurchase.objects.exists()
    assert not Payment.objects.exists()


def test_the_admin_only_shows_offers_and_purchases(world):
    from django.apps import apps
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = factories.make_user("root@example.test", is_superuser=True, is_staff=True)
    for label in ("payments.PackageOffer", "payments.PackagePurchase", "payments.PackageUse"):
        shown = admin.site._registry[apps.get_model(label)]
        assert shown.has_view_permission(request)
        assert not shown.has_add_permission(request)
        assert not shown.has_change_permission(request)
        assert not shown.has_delete_permission(request)
