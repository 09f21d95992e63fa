"""``manage.py reconcile_payments``: our payments and the ledger against localstripe.

Clean after real payments and refunds (including more refunds than Stripe lists on one
page); then each kind of damage is listed by payment and receipt, with ours and Stripe's
figures, and the command exits with status 1: a refund made at Stripe that we never
recorded, a payment marked paid here whose intent failed at Stripe, a payment the ledger
has and Stripe does not know, an amount that differs, a succeeded intent no payment
records (a second charge), and Stripe out of reach.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from caredoor.core.payments import checkout, refunds, stripe_api
from caredoor.core.payments.models import (
    Payment,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    Voucher,
    VoucherKind,
)
from tests.booking_helpers import local
from tests.payments_helpers import PRICE, book_held, pay, priced
from tests.smtp_server import free_port
from tests.stripe_server import CARD_3DS, CARD_DECLINED

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    """(exit status, stdout, the error's message) of the command, as manage.py gives it."""
    out = io.StringIO()
    try:
        call_command("reconcile_payments", *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), ""


@pytest.fixture
def paid_world(world, localstripe):
    """Real payments on world.a's brand: paid, paid after a decline, one refunded in part,
    one refunded in eleven parts, one waiting for 3-D Secure, one a voucher made free.
    localstripe lives for the whole session: its store is emptied first, so it holds this
    world's intents only, as a fresh Stripe account would."""
    localstripe.flush()
    brand, _profile, session_type = priced(world.a)
    made = {}
    _b, made["plain"] = book_held(world.a, session_type, hour=9)
    made["plain"] = pay(world.a, made["plain"], localstripe)

    _b, made["retried"] = book_held(world.a, session_type, hour=10)
    pay(world.a, made["retried"], localstripe, CARD_DECLINED)
    made["retried"] = pay(world.a, made["retried"], localstripe)

    _b, made["refunded"] = book_held(world.a, session_type, hour=11)
    made["refunded"] = pay(world.a, made["refunded"], localstripe)
    refunds.do_refund(made["refunded"], 2500, reason=RefundReason.STAFF, note="goodwill")

    _b, made["many"] = book_held(world.a, session_type, hour=12)
    made["many"] = pay(world.a, made["many"], localstripe)
    for _ in range(11):  # Stripe lists ten per page
        refund = refunds.do_refund(made["many"], 100, reason=RefundReason.STAFF, note="part")
        assert refund.status == RefundStatus.SUCCEEDED

    _b, made["waiting"] = book_held(world.a, session_type, hour=13)
    made["waiting"] = pay(world.a, made["waiting"], localstripe, CARD_3DS)
    assert made["waiting"].status == PaymentStatus.REQUIRES_ACTION

    Voucher.objects.create(brand=brand, code="FREE", kind=VoucherKind.PERCENT, percent_off=100)
    _b, made["free"] = checkout.do_book(
        patient=world.a.patient,
        brand=brand,
        session_type=session_type,
        start=local(14),
        voucher_code="FREE",
    )
    assert made["free"].status == PaymentStatus.SUCCEEDED and not made["free"].intent_id
    for key, payment in made.items():
        payment.refresh_from_db()
        made[key] = payment
    return made


def test_clean_after_real_payments_and_refunds(paid_world):
    status, out, _error = run()
    assert status == 0
    assert out.strip() == "Checked 6 payments: 0 mismatches in 0 payments."


def test_each_kind_of_damage_is_listed(world, localstripe, paid_world, settings):
    plain, refunded = paid_world["plain"], paid_world["refunded"]

    # 1. A refund made at Stripe directly (the dashboard, a script) that we never recorded.
    stripe_api.client().v1.refunds.create(
        params={"payment_intent": plain.intent_id, "amount": 2000}
    )

    # 2. A payment marked paid here whose intent failed at Stripe (authentication refused).
    waiting = paid_world["waiting"]
    intent = stripe_api.retrieve_intent(waiting.intent_id)
    localstripe.authenticate(intent["id"], intent["client_secret"], success=False)
    assert stripe_api.retrieve_intent(waiting.intent_id)["status"] == "requires_payment_method"
    with transaction.atomic():
        checkout.settle(waiting, timezone.now())
    waiting.refresh_from_db()

    # 3. A payment the ledger has and Stripe does not know (whose real intent is then
    #    a stray: Stripe has money for it that no payment records).
    real_intent = refunded.intent_id
    Payment.objects.filter(pk=refunded.pk).update(intent_id="pi_madeup")

    # 4. An amount that differs from what Stripe received.
    retried = paid_world["retried"]
    Payment.objects.filter(pk=retried.pk).update(list_minor=PRICE + 500, amount_minor=PRICE + 500)

    status, out, error = run()
    assert status == 1
    assert error == "Checked 6 payments: 7 mismatches in 4 payments."
    assert out.strip().splitlines() == [
        f"payment {plain.pk} ({plain.receipt_number}): refunded: ours 0.00 EUR, Stripe 20.00 EUR",
        f"payment {plain.pk} ({plain.receipt_number}): ledger: ours 90.00 EUR cash, "
        "Stripe 70.00 EUR implied",
        f"payment {retried.pk} ({retried.receipt_number}): amount: ours 95.00 EUR, "
        "Stripe 90.00 EUR",
        f"payment {refunded.pk} ({refunded.receipt_number}): unknown: ours pi_madeup, "
        "succeeded, in the ledger (65.00 EUR cash), Stripe no such PaymentIntent",
        f"payment {waiting.pk} ({waiting.receipt_number}): status: ours succeeded, "
        "Stripe requires_payment_method",
        f"payment {waiting.pk} ({waiting.receipt_number}): ledger: ours 90.00 EUR cash, "
        "Stripe 0.00 EUR implied",
        f"payment {refunded.pk} ({refunded.receipt_number}): stray: ours pi_madeup, "
        f"succeeded, Stripe {real_intent} succeeded, 90.00 EUR",
    ]


def test_a_ledger_payment_without_an_intent_is_listed(world, localstripe, paid_world):
    plain = paid_world["plain"]
    real_intent = plain.intent_id
    Payment.objects.filter(pk=plain.pk).update(intent_id="")
    status, out, _error = run()
    assert status == 1
    assert out.strip().splitlines() == [
        f"payment {plain.pk} ({plain.receipt_number}): unknown: ours in the ledger "
        "(90.00 EUR cash), Stripe no PaymentIntent",
        f"payment {plain.pk} ({plain.receipt_number}): stray: ours no intent, succeeded, "
        f"Stripe {real_intent} succeeded, 90.00 EUR",
    ]


def test_brand_and_since_narrow_the_run(world, localstripe, paid_world):
    stripe_api.client().v1.refunds.create(
        params={"payment_intent": paid_world["plain"].intent_id, "amount": 100}
    )
    assert run()[0] == 1
    assert run("--brand", world.a.brand.slug)[0] == 1
    assert run("--brand", world.b.brand.slug) == (
        0,
        "Checked 0 payments: 0 mismatches in 0 payments.\n",
        "",
    )
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert run("--since", tomorrow)[:2] == (0, "Checked 0 payments: 0 mismatches in 0 payments.\n")
    today = timezone.localdate().isoformat()
    assert run("--since", today)[0] == 1

    with pytest.raises(CommandError, match="No brand"):
        call_command("reconcile_payments", "--brand", "nope")
    with pytest.raises(CommandError, match="yyyy-mm-dd"):
        call_command("reconcile_payments", "--since", "21.11.2026")


def test_stripe_out_of_reach_is_not_clean(world, localstripe, settings):
    _brand, _profile, session_type = priced(world.a)
    _b, payment = book_held(world.a, session_type)
    payment = pay(world.a, payment, localstripe)
    settings.PAYMENTS = {**settings.PAYMENTS, "api_base": f"http://127.0.0.1:{free_port()}"}
    status, out, _error = run()
    assert status == 1
    assert out.strip().splitlines() == [
        f"payment {payment.pk} ({payment.receipt_number}): unreadable: ours "
        f"{payment.intent_id}, Stripe APIConnectionError",
        "Stripe's list of PaymentIntents: unreadable: APIConnectionError",
    ]


def test_without_stripe_keys_the_command_says_so(settings, db):
    settings.PAYMENTS = {**settings.PAYMENTS, "secret_key": ""}
    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY"):
        call_command("reconcile_payments")


def test_a_second_charge_for_a_paid_payment_is_listed(world, localstripe, paid_world, caplog):
    """A succeeded intent that names our payment but that the payment does not record (a
    retry whose answer was lost, a second charge) is money Stripe took that we do not know."""
    plain = paid_world["plain"]
    second = stripe_api.create_intent(plain, localstripe.card(), attempt=99)
    assert second["status"] == "succeeded" and second["id"] != plain.intent_id
    # Its webhook changes nothing on the paid payment, and says so in the log.
    assert checkout.apply_intent(plain, second).intent_id == plain.intent_id
    assert f"a second intent {second['id']} succeeded" in caplog.text
    status, out, error = run()
    assert status == 1
    assert error == "Checked 6 payments: 1 mismatches in 1 payments."
    assert out.strip() == (
        f"payment {plain.pk} ({plain.receipt_number}): stray: ours {plain.intent_id}, "
        f"succeeded, Stripe {second['id']} succeeded, 90.00 EUR"
    )
    # Only this brand's and this day's intents are listed.
    assert run("--brand", world.b.brand.slug)[0] == 0
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert run("--since", tomorrow)[0] == 0


def test_another_installations_intents_are_left_alone(world, localstripe, paid_world):
    """An intent whose metadata names a payment this database does not have (or has under
    another brand) comes from another installation sharing the account."""
    plain = paid_world["plain"]
    params = stripe_api.intent_params(plain, localstripe.card())
    for metadata in (
        {"payment": "987654", "brand": plain.brand.slug},
        {"payment": str(plain.pk), "brand": "some-other-brand"},
    ):
        stripe_api.client().v1.payment_intents.create(params={**params, "metadata": metadata})
    assert run()[0] == 0
