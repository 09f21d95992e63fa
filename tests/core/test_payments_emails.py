"""The patient's payment and refund emails (``core/payments/emails.py``), with real payments
through localstripe: one email per payment and per refund however often Stripe's word is
applied (webhooks delivered again, the page's poll, the sweeper), sent only after the
commit, in the patient's language, from the brand, linking to the receipt on the brand's
domain, and carrying no health data. The delivery tests use a real SMTP server (aiosmtpd);
the content tests read Django's outbox, as the booking email tests do."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format

from caredoor.core.notifications.models import Delivery, DeliveryState, Notification
from caredoor.core.payments import checkout, emails, refunds, stripe_api, webhooks
from caredoor.core.payments.models import Payment, PaymentStatus, RefundReason, RefundStatus
from caredoor.core.payments.tasks import sweep_payments_every_minute
from tests.payments_helpers import book_held, pay, priced
from tests.smtp_server import django_smtp, free_port, smtp_server
from tests.stripe_server import CARD_3DS, event_body, sign

pytestmark = pytest.mark.django_db

SESSION = "Trauma therapy intake"  # a session type's name: health data
STAFF_NOTE = "goodwill: relapse of her eating disorder"  # a staff reason: health data
# What the specialist's profile says (tests/specialist_helpers.complete_profile): their
# name, title, specialities and bio would tell what the patient is treated for.
SPECIALIST = ("Dr. Listed", "Psychotherapist", "Anxiety", "Depression", "Therapy", "anxiety")
PAID_SUBJECT = "Your payment of"
REFUND_SUBJECT = "Refund of"


@pytest.fixture
def session_type(world: Any, localstripe: Any) -> Any:
    """Brand A takes payments; its specialist offers SESSION at 90.00 EUR."""
    _brand, _profile, kind = priced(world.a)
    kind.name = SESSION
    kind.save(update_fields=["name"])
    return kind


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    """``commit(fn)``: run ``fn`` as a request or job would, its commit hooks included."""

    def run(fn: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return run


def payment_mails(subject: str = PAID_SUBJECT) -> list[mail.EmailMessage]:
    """The payment (or refund) emails in Django's outbox (booking emails are there too)."""
    return [m for m in mail.outbox if m.subject.startswith(subject)]


def links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def assert_no_health_data(message: Any) -> None:
    text = f"{message.subject}\n{message.body}"
    for secret in (SESSION, STAFF_NOTE, *SPECIALIST):
        assert secret not in text, secret
    assert message.attachments == []  # the receipt (which names the session) is not attached


def succeeded_event(localstripe: Any, payment: Payment) -> dict[str, Any]:
    """localstripe's ``payment_intent.succeeded`` event of ``payment``'s intent (localstripe
    lives for the whole test session, so payment ids repeat; intent ids do not)."""
    (event,) = [
        e
        for e in localstripe.events()
        if e["type"] == "payment_intent.succeeded"
        and e["data"]["object"]["id"] == payment.intent_id
    ]
    return event


def deliver_webhook(client: Any, event: dict[str, Any], commit: Any) -> None:
    body = event_body(event)
    answer = commit(
        lambda: client.post(
            "/webhooks/stripe/",
            body,
            content_type="application/json",
            HTTP_HOST="localhost",
            HTTP_STRIPE_SIGNATURE=sign(body),
        )
    )
    assert answer.status_code == 200, answer.content


# --- what the email says ---------------------------------------------------------------------


def test_a_paid_session_sends_the_patient_one_email_without_health_data(
    world, session_type, localstripe, commit, client_for
):
    mail.outbox.clear()
    _booking, payment = book_held(world.a, session_type)
    payment = commit(lambda: pay(world.a, payment, localstripe))
    assert payment.status == PaymentStatus.SUCCEEDED

    (message,) = payment_mails()
    assert message.to == [world.a.patient.email]
    assert message.from_email.startswith("Brand A <")
    assert message.subject == "Your payment of 90.00 EUR to Brand A"
    body = message.body
    assert "Amount paid: 90.00 EUR" in body
    assert f"Receipt number: {payment.receipt_number}" in body
    with translation.override("en"), timezone.override("Europe/Berlin"):
        paid_on = date_format(timezone.localtime(payment.succeeded_at), "DATE_FORMAT")
    assert f"Date: {paid_on}" in body
    assert_no_health_data(message)

    # One link: the receipt in the patient portal, on the brand's own domain.
    (link,) = links(body)
    parts = urlsplit(link)
    assert parts.hostname == world.a.brand.domains.get(is_primary=True).host == "a.test"
    assert parts.path == f"/payments/{payment.pk}/receipt.pdf"
    # The link leads to the receipt for the patient signed in there.
    signed_in = client_for(world.a.patient, None, host=parts.hostname)
    assert signed_in.get(parts.path).status_code == 200

    # A record of money: always on, email only (the Payments page lists the same).
    row = Delivery.objects.get(key=emails.payment_key(payment))
    assert row.state == DeliveryState.SENT and row.kind == emails.PAID
    assert row.payload == {"payment": payment.pk}  # ids only
    assert not Notification.objects.filter(kind=emails.PAID).exists()


def test_the_email_is_from_the_brand_paid_on_and_links_to_its_domain(world, localstripe, commit):
    _brand, _profile, kind = priced(world.b)
    mail.outbox.clear()
    _booking, payment = book_held(world.b, kind)
    commit(lambda: pay(world.b, payment, localstripe))
    (message,) = payment_mails()
    assert message.to == [world.b.patient.email]
    assert message.from_email.startswith("Brand B <") and "Brand B" in message.subject
    assert {urlsplit(link).hostname for link in links(message.body)} == {"b.test"}


def test_the_email_is_in_the_patients_language_else_the_brands(
    world, session_type, localstripe, commit
):
    patient = world.a.patient
    patient.language, patient.time_zone = "de", "Asia/Tokyo"
    patient.save(update_fields=["language", "time_zone"])
    _booking, payment = book_held(world.a, session_type, hour=10)
    mail.outbox.clear()
    payment = commit(lambda: pay(world.a, payment, localstripe))
    (message,) = [m for m in mail.outbox if "90,00 EUR" in m.subject]
    assert message.body.startswith("Hallo,")
    with translation.override("de"), timezone.override("Asia/Tokyo"):
        paid_on = date_format(timezone.localtime(payment.succeeded_at), "DATE_FORMAT")
    assert paid_on in message.body  # the date in German, in the patient's zone
    assert message.extra_headers["Content-Language"] == "de"
    assert_no_health_data(message)

    # A language the brand does not offer: the brand's default (German here).
    brand = world.a.brand
    brand.default_language = "de"
    brand.save(update_fields=["default_language"])
    patient.language = "fr"
    patient.save(update_fields=["language"])
    _booking, second = book_held(world.a, session_type, hour=12)
    mail.outbox.clear()
    commit(lambda: pay(world.a, second, localstripe))
    (message,) = [m for m in mail.outbox if "90,00 EUR" in m.subject]
    assert message.extra_headers["Content-Language"] == "de"


def test_a_refund_sends_one_email_without_the_staff_reason(
    world, session_type, localstripe, commit
):
    _booking, payment = book_held(world.a, session_type)
    payment = commit(lambda: pay(world.a, payment, localstripe))
    mail.outbox.clear()

    refund = commit(
        lambda: refunds.do_refund(
            payment, 2500, reason=RefundReason.STAFF, note=STAFF_NOTE, actor=world.a.operator
        )
    )
    assert refund.status == RefundStatus.SUCCEEDED

    (message,) = payment_mails(REFUND_SUBJECT)
    assert message.to == [world.a.patient.email]
    assert message.subject == "Refund of 25.00 EUR from Brand A"
    assert "Amount refunded: 25.00 EUR" in message.body
    assert "of your payment of 90.00 EUR" in message.body
    assert f"Receipt number: {payment.receipt_number}" in message.body
    assert_no_health_data(message)
    (link,) = links(message.body)
    assert urlsplit(link).hostname == "a.test"
    assert urlsplit(link).path == f"/payments/{payment.pk}/receipt.pdf"
    assert payment_mails() == []  # no second payment email

    # Stripe's word on the refund again (the webhook job re-reads the intent's refunds,
    # once per delivery): nothing more is sent.
    mail.outbox.clear()
    for _ in range(3):
        commit(lambda: webhooks.apply_intent_id(payment.intent_id, refunds_too=True))
        commit(lambda: refunds.apply_refund(refund, stripe_api.retrieve_refund(refund.refund_id)))
    commit(sweep_payments_every_minute.call_local)
    assert mail.outbox == []
    assert Delivery.objects.filter(kind=emails.REFUNDED).count() == 1


def test_a_second_refund_of_the_same_payment_gets_its_own_email(
    world, session_type, localstripe, commit
):
    _booking, payment = book_held(world.a, session_type)
    payment = commit(lambda: pay(world.a, payment, localstripe))
    mail.outbox.clear()
    for amount in (1000, 2000):
        commit(lambda a=amount: refunds.do_refund(payment, a, reason=RefundReason.STAFF, note="x"))
    assert sorted(m.subject for m in payment_mails(REFUND_SUBJECT)) == [
        "Refund of 10.00 EUR from Brand A",
        "Refund of 20.00 EUR from Brand A",
    ]


def test_a_refund_stripe_has_not_made_sends_nothing(
    world, session_type, localstripe, commit, settings
):
    _booking, payment = book_held(world.a, session_type)
    payment = commit(lambda: pay(world.a, payment, localstripe))
    # Stripe out of reach: the refund stays pending (its amount reserved), no email.
    base = settings.PAYMENTS["api_base"]
    settings.PAYMENTS = {**settings.PAYMENTS, "api_base": f"http://127.0.0.1:{free_port()}"}
    mail.outbox.clear()
    refund = commit(lambda: refunds.do_refund(payment, 1000, reason=RefundReason.STAFF, note="x"))
    settings.PAYMENTS = {**settings.PAYMENTS, "api_base": base}
    assert refund.status == RefundStatus.PENDING
    # Stripe still working on it, then failing it: no refund reached the patient.
    commit(lambda: refunds.apply_refund(refund, {"id": "re_x", "status": "pending"}))
    commit(lambda: refunds.apply_refund(refund, {"id": "re_x", "status": "failed"}))
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert mail.outbox == []
    assert not Delivery.objects.filter(kind=emails.REFUNDED).exists()


def test_a_session_a_voucher_made_free_sends_no_payment_email(world, session_type, commit):
    from caredoor.core.payments.models import Voucher

    Voucher.objects.create(brand=world.a.brand, code="ALL", kind="percent", percent_off=100)
    mail.outbox.clear()
    _booking, payment = commit(lambda: book_held(world.a, session_type, voucher="ALL"))
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_minor == 0
    assert payment_mails() == []
    assert not Delivery.objects.filter(kind=emails.PAID).exists()


def test_nothing_is_sent_when_the_success_is_rolled_back(world, session_type, localstripe, commit):
    _booking, payment = book_held(world.a, session_type)
    payment = pay(world.a, payment, localstripe, CARD_3DS)
    intent = stripe_api.retrieve_intent(payment.intent_id)
    localstripe.authenticate(intent["id"], intent["client_secret"])
    intent = stripe_api.retrieve_intent(payment.intent_id)
    mail.outbox.clear()

    def applied_then_failed() -> None:
        with transaction.atomic():
            checkout.apply_intent(payment, intent)
            assert Delivery.objects.filter(key=emails.payment_key(payment)).exists()
            raise RuntimeError("the job died before its commit")

    with pytest.raises(RuntimeError):
        commit(applied_then_failed)
    assert mail.outbox == [] and not Delivery.objects.filter(kind=emails.PAID).exists()
    # Applied again (the next delivery of the webhook): now it is sent, once.
    commit(lambda: checkout.apply_intent(payment, intent))
    assert len(payment_mails()) == 1


# --- once, through a real mail server ----------------------------------------------------------


def test_one_email_however_often_the_success_is_applied(
    world, session_type, localstripe, client, commit
):
    """A 3-D Secure payment only Stripe's word confirms: the sweeper's re-read, its webhook
    delivered three times, the page's poll and a direct re-apply each see the success; the
    mail server receives one payment email."""
    with smtp_server() as smtp, django_smtp(smtp):
        _booking, payment = book_held(world.a, session_type)
        payment = pay(world.a, payment, localstripe, CARD_3DS)
        assert payment.status == PaymentStatus.REQUIRES_ACTION
        intent = stripe_api.retrieve_intent(payment.intent_id)
        localstripe.authenticate(intent["id"], intent["client_secret"])
        event = succeeded_event(localstripe, payment)

        # The webhook is late: the sweeper re-reads the intent first (and sends the email).
        Payment.objects.filter(pk=payment.pk).update(
            updated_at=timezone.now() - timedelta(minutes=5)
        )
        assert commit(sweep_payments_every_minute.call_local)["synced"] == 1
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        # Then the webhook, three times; the pay page's status poll; the sweeper again.
        for _ in range(3):
            deliver_webhook(client, event, commit)
        commit(lambda: checkout.sync(payment))
        commit(lambda: checkout.apply_intent(payment, stripe_api.retrieve_intent(intent["id"])))
        commit(sweep_payments_every_minute.call_local)
        # Even if the success were recorded again, the delivery key holds.
        commit(lambda: emails.payment_succeeded(Payment.objects.get(pk=payment.pk)))

        received = [r for r in smtp.recorder.received if r.subject.startswith(PAID_SUBJECT)]
        assert len(received) == 1
        (message,) = received
        assert message.to == world.a.patient.email
        assert SESSION not in message.body and "Dr. Listed" not in message.body
        assert "http://a.test:" in message.body
        assert Delivery.objects.get(key=emails.payment_key(payment)).attempts == 1


def test_a_refused_email_is_sent_again_by_the_sweeper_once(
    world, session_type, localstripe, commit
):
    with smtp_server() as smtp, django_smtp(smtp):
        _booking, payment = book_held(world.a, session_type)
        smtp.recorder.block_at = 1  # the first message offered is refused
        smtp.recorder.release()
        payment = pay(world.a, payment, localstripe)  # no commit hooks: the job never ran
        assert payment.status == PaymentStatus.SUCCEEDED
        key = emails.payment_key(payment)
        assert Delivery.objects.get(key=key).state == DeliveryState.PENDING  # the outbox

        assert emails.deliver([key]) == {key: DeliveryState.FAILED}  # the mail server refused
        assert smtp.recorder.received == []
        # Too early for a retry: nothing is sent.
        assert emails.retry() == {}
        later = timezone.now() + timedelta(minutes=3)
        assert emails.retry(later) == {key: DeliveryState.SENT}
        assert emails.retry(later + timedelta(minutes=10)) == {}
        assert [r.to for r in smtp.recorder.received] == [world.a.patient.email]
        row = Delivery.objects.get(key=key)
        assert row.state == DeliveryState.SENT and row.attempts == 2
