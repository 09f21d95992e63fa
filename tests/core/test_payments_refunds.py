"""Refunds under the booking's cancellation policy, through localstripe: a cancellation in
the free window refunds in full, a late one keeps the policy's fee, the specialist's
cancellation always refunds in full, and the ledger is reversed in the same share."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking.models import Booking
from caredoor.core.payments import cancellation, ledger, refunds
from caredoor.core.payments.models import Account, PaymentStatus, Refund, RefundStatus
from tests.payments_helpers import PRICE, book_held, pay, priced

pytestmark = pytest.mark.django_db


def paid_booking(world, localstripe, **brand_fields):  # type: ignore[no-untyped-def]
    brand, profile, session_type = priced(world.a, **brand_fields)
    booking, payment = book_held(world.a, session_type, days=7)
    assert pay(world.a, payment, localstripe).status == PaymentStatus.SUCCEEDED
    booking.refresh_from_db()
    return brand, profile, booking, payment


def test_cancelling_in_the_free_window_refunds_in_full(world, localstripe):
    brand, _profile, booking, payment = paid_booking(world, localstripe)
    _done, refund = cancellation.do_cancel(booking, by="patient", actor=world.a.patient)
    assert (refund.amount_minor, refund.status) == (PRICE, RefundStatus.SUCCEEDED)
    assert refund.refund_id.startswith("re_")
    payment.refresh_from_db()
    assert payment.refunded_minor == PRICE
    assert ledger.balance(Account.CASH, brand=brand) == {}
    assert ledger.owed_to_specialists(brand) == {}
    assert ledger.balance(Account.PLATFORM_FEES, brand=brand) == {}
    # Asking again (the sweeper, a repeated job) refunds nothing more.
    assert refunds.refund_for_booking(booking) is None
    assert refunds.refunds_due() == 0
    assert Refund.objects.count() == 1


def test_a_late_cancellation_keeps_the_policys_fee(world, localstripe):
    brand, profile, booking, _payment = paid_booking(world, localstripe)
    # The policy snapshot: free until 24 h before, then half the price is kept.
    Booking.objects.filter(pk=booking.pk).update(
        policy={**booking.policy, "cancel_notice_hours": 24 * 30, "late_cancel_fee_percent": 50}
    )
    booking.refresh_from_db()
    preview = cancellation.refund_if_patient_cancels(booking, timezone.now())
    assert preview == (PRICE // 2, PRICE, "EUR")
    _done, refund = cancellation.do_cancel(booking, by="patient", actor=world.a.patient)
    assert refund.amount_minor == PRICE // 2
    # Half of everything reversed: cash, the specialist's share and the fee.
    assert ledger.balance(Account.CASH, brand=brand) == {"EUR": PRICE // 2}
    assert ledger.owed_to_specialists(brand) == {(profile.pk, "EUR"): 3600}
    assert ledger.balance(Account.PLATFORM_FEES, brand=brand) == {"EUR": -900}


def test_the_specialists_cancellation_refunds_in_full_even_late(world, localstripe):
    _brand, _profile, booking, _payment = paid_booking(world, localstripe)
    Booking.objects.filter(pk=booking.pk).update(
        policy={**booking.policy, "cancel_notice_hours": 24 * 30, "late_cancel_fee_percent": 100}
    )
    _done, refund = cancellation.do_cancel(booking, by="specialist", actor=world.a.specialist)
    assert refund.amount_minor == PRICE


def test_a_refund_stripe_could_not_take_is_made_by_the_sweeper(world, localstripe, settings):
    brand, _profile, booking, payment = paid_booking(world, localstripe)
    good = settings.PAYMENTS
    settings.PAYMENTS = {**good, "api_base": "http://127.0.0.1:9"}  # Stripe unreachable
    _done, refund = cancellation.do_cancel(booking, by="patient", actor=world.a.patient)
    assert refund.status == RefundStatus.PENDING  # reserved, not yet made
    payment.refresh_from_db()
    assert payment.refunded_minor == PRICE  # no second refund can be started meanwhile
    assert ledger.balance(Account.CASH, brand=brand) == {"EUR": PRICE}
    settings.PAYMENTS = good
    refunds.refunds_due()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert ledger.balance(Account.CASH, brand=brand) == {}


def test_no_show_keeps_the_policys_fee_and_refunds_the_rest(world, localstripe):
    _brand, _profile, booking, _payment = paid_booking(world, localstripe)
    start = timezone.now() - timedelta(hours=1)
    end = start + timedelta(minutes=50)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        policy={**booking.policy, "no_show_fee_percent": 80},
    )
    booking.refresh_from_db()
    _done, refund = cancellation.do_mark_no_show(booking, actor=world.a.specialist)
    assert refund.amount_minor == PRICE - 7200


def test_the_cancel_page_says_what_comes_back_and_cancelling_refunds(
    world, localstripe, client_for
):
    brand, _profile, booking, _payment = paid_booking(world, localstripe)
    client = client_for(world.a.patient, brand)
    page = client.get(f"/sessions/{booking.pk}/cancel/").content.decode()
    assert "You paid 90.00 EUR; 90.00 EUR is refunded to your card." in page
    answer = client.post(f"/sessions/{booking.pk}/cancel/", {"reason": ""}, follow=True)
    assert "90.00 EUR is refunded to your card" in answer.content.decode()
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED


def test_a_moved_session_keeps_its_payment_and_cancelling_it_refunds(world, localstripe):
    from caredoor.core.payments import moves
    from tests.booking_helpers import local

    _brand, _profile, booking, payment = paid_booking(world, localstripe)
    moved = moves.do_reschedule(booking, actor=world.a.specialist, start=local(13, days=8))
    payment.refresh_from_db()
    assert payment.booking_id == moved.pk
    _done, refund = cancellation.do_cancel(moved, by="specialist", actor=world.a.specialist)
    assert refund is not None and refund.amount_minor == PRICE
