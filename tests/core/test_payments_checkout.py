"""Checkout against localstripe through the official stripe SDK: a priced booking holds
its time, is confirmed only by a succeeded PaymentIntent, and a failed payment never
confirms it; the ledger records what moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caredoor.core.booking.expiry import expire_overdue
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments import checkout, ledger
from caredoor.core.payments.models import (
    Account,
    Entry,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from tests.booking_helpers import local
from tests.payments_helpers import PRICE, book_held, pay, priced
from tests.stripe_server import CARD_3DS, CARD_DECLINED

pytestmark = pytest.mark.django_db


def test_a_priced_booking_holds_its_time_until_paid(world, localstripe):
    brand, profile, session_type = priced(world.a, checkout_hold_minutes=15)
    booking, payment = book_held(world.a, session_type)
    assert booking.status == BookingStatus.PENDING_PAYMENT
    assert booking.expires_at <= timezone.now() + timedelta(minutes=15)
    assert (payment.amount_minor, payment.fee_minor, payment.share_minor) == (9000, 1800, 7200)
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    assert not Entry.objects.exists()  # nothing moved yet

    paid = pay(world.a, payment, localstripe)

    assert paid.status == PaymentStatus.SUCCEEDED
    assert paid.intent_id.startswith("pi_")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.expires_at is None
    assert ledger.balance(Account.CASH, brand=brand) == {"EUR": PRICE}
    assert ledger.owed_to_specialists(brand) == {(profile.pk, "EUR"): 7200}
    assert ledger.balance(Account.PLATFORM_FEES, brand=brand) == {"EUR": -1800}


def test_a_declined_card_never_confirms_and_the_hold_releases_the_time(world, localstripe):
    _brand, _profile, session_type = priced(world.a)
    booking, payment = book_held(world.a, session_type)

    failed = pay(world.a, payment, localstripe, CARD_DECLINED)

    assert failed.status == PaymentStatus.FAILED
    assert "declined" in failed.failure_message
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT
    assert not Entry.objects.exists()

    # The hold ends: the time is free again and the intent can no longer be charged.
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_overdue()
    assert checkout.release_abandoned() == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CANCELED
    again, _ = book_held(world.a, session_type)  # the same time, booked by someone else now
    assert again.start == booking.start

    with pytest.raises(ValidationError) as refused:
        pay(world.a, payment, localstripe)
    assert refused.value.code == "hold_ended"


def test_a_card_that_asks_for_authentication_waits_for_it(world, localstripe):
    _brand, _profile, session_type = priced(world.a)
    booking, payment = book_held(world.a, session_type)

    waiting = pay(world.a, payment, localstripe, CARD_3DS)
    assert waiting.status == PaymentStatus.REQUIRES_ACTION
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT

    intent = checkout.stripe_api.retrieve_intent(waiting.intent_id)
    localstripe.authenticate(intent["id"], intent["client_secret"])
    synced = checkout.sync(waiting)

    assert synced.status == PaymentStatus.SUCCEEDED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_a_payment_after_the_hold_ended_is_refunded_in_full(
    world, localstripe, django_capture_on_commit_callbacks
):
    brand, _profile, session_type = priced(world.a)
    booking, payment = book_held(world.a, session_type)
    waiting = pay(world.a, payment, localstripe, CARD_3DS)
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_overdue()

    intent = checkout.stripe_api.retrieve_intent(waiting.intent_id)
    localstripe.authenticate(intent["id"], intent["client_secret"])
    with django_capture_on_commit_callbacks(execute=True):
        checkout.sync(waiting)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED  # never confirmed
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.status, refund.amount_minor) == (
        RefundReason.HOLD_EXPIRED,
        RefundStatus.SUCCEEDED,
        PRICE,
    )
    assert ledger.balance(Account.CASH, brand=brand) == {}
    assert ledger.owed_to_specialists(brand) == {}


def test_the_page_cannot_confirm_a_booking_stripe_has_not_charged(world, localstripe):
    _brand, _profile, session_type = priced(world.a)
    booking, payment = book_held(world.a, session_type)
    with pytest.raises(ValidationError):
        checkout.do_attempt(payment, "", actor=world.a.patient)
    # An intent id the page made up is never applied: sync asks Stripe, which knows none.
    Payment.objects.filter(pk=payment.pk).update(intent_id="pi_madeup", status="processing")
    checkout.sync(Payment.objects.get(pk=payment.pk))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT


def test_a_free_or_covered_session_is_confirmed_without_payment(world, localstripe):
    brand, _profile, session_type = priced(world.a, free_first_session=True)
    first, payment = checkout.do_book(
        patient=world.a.patient, brand=brand, session_type=session_type, start=local(10)
    )
    assert first.status == BookingStatus.CONFIRMED and payment is None
    second, payment = book_held(world.a, session_type, hour=12)
    assert second.status == BookingStatus.PENDING_PAYMENT
    assert payment.amount_minor == PRICE


def test_a_signed_webhook_confirms_and_a_forged_one_changes_nothing(
    world, localstripe, client, django_capture_on_commit_callbacks
):
    """Quick check of the edge; the replay and ordering proofs are in test_payments_webhooks."""
    from tests.stripe_server import event_body, sign

    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    paid = pay(world.a, payment, localstripe)
    event = next(
        e
        for e in localstripe.events()
        if e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == paid.intent_id
    )
    body = event_body(event)
    forged = client.post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, secret="whsec_wrong"),
        HTTP_HOST="localhost",
    )
    assert forged.status_code == 400
    stale = client.post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, at=int(timezone.now().timestamp()) - 3600),
        HTTP_HOST="localhost",
    )
    assert stale.status_code == 400
    from caredoor.core.payments.models import WebhookEvent

    assert not WebhookEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(
            "/webhooks/stripe/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(body),
            HTTP_HOST="localhost",
        )
    assert ok.status_code == 200
    assert WebhookEvent.objects.get().processed_at is not None


def test_an_abandoned_checkout_ends_quietly(world, localstripe):
    from caredoor.core.messaging.models import Message
    from caredoor.core.notifications.models import Notification

    _brand, _profile, session_type = priced(world.a)
    booking, _payment = book_held(world.a, session_type)
    before = (Notification.objects.count(), Message.objects.count())
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_overdue()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert (Notification.objects.count(), Message.objects.count()) == before


def test_a_proposal_that_asks_for_payment_is_paid_on_the_pay_page(world, localstripe):
    from caredoor.core.booking.proposals import do_accept_proposal, do_propose

    _brand, _profile, session_type = priced(world.a)
    proposal = do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(11),
        requires_payment=True,
    )
    accepted = do_accept_proposal(proposal, actor=world.a.patient)
    assert accepted.status == BookingStatus.PENDING_PAYMENT
    payment = checkout.open_payment(accepted)
    assert payment is not None and payment.amount_minor == PRICE
    assert checkout.open_payment(accepted).pk == payment.pk  # made once
    pay(world.a, payment, localstripe)
    accepted.refresh_from_db()
    assert accepted.status == BookingStatus.CONFIRMED


def test_the_sweeper_job_releases_what_the_hold_left(world, localstripe):
    from caredoor.core.payments.tasks import sweep_payments_every_minute

    _brand, _profile, session_type = priced(world.a)
    booking, payment = book_held(world.a, session_type)
    pay(world.a, payment, localstripe, CARD_DECLINED)
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_overdue()
    result = sweep_payments_every_minute.call_local()
    assert result["released"] == 1 and result["refunded"] == 0
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CANCELED


def test_a_proposal_with_a_specialist_who_cannot_take_payments_says_so(
    world, localstripe, client_for
):
    from caredoor.core.booking.proposals import do_accept_proposal, do_propose
    from caredoor.core.compliance.models import AuditEvent

    brand, _profile, session_type = priced(world.a, billing_model="specialist")
    proposal = do_propose(
        actor=world.a.specialist,
        brand=brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(11),
        requires_payment=True,
    )
    accepted = do_accept_proposal(proposal, actor=world.a.patient)
    answer = client_for(world.a.patient, brand).get(f"/sessions/{accepted.pk}/pay/", follow=True)
    assert "This specialist cannot take payments yet." in answer.content.decode()
    assert not Payment.objects.exists()

    # With platform billing the payment is made on first use, once, and audited.
    brand.billing_model = "platform"
    brand.save()
    first = checkout.open_payment(accepted)
    assert checkout.open_payment(accepted).pk == first.pk
    assert AuditEvent.objects.filter(action="payment.created", target_id=str(first.pk)).count() == 1
