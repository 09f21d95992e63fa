"""Vouchers as the operator makes them: codes unique per brand and in capitals, one kind of
amount, dates in order, limits; ending one stops checkout from taking it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments import ledger, pricing, vouchers
from caredoor.core.payments.models import Account, Voucher
from tests.org_money_helpers import paid
from tests.payments_helpers import PRICE, priced

pytestmark = pytest.mark.django_db


def make(side, **fields):  # type: ignore[no-untyped-def]
    values = {"code": "spring-25", "kind": "percent", "percent_off": 25, **fields}
    return vouchers.do_create_voucher(side.brand, values, side.operator, role="operator")


def test_a_percent_voucher_is_stored_in_capitals_and_audited(world):
    voucher = make(world.a, code="  spring-25 ", max_uses=100, max_uses_per_patient=2)
    assert (voucher.code, voucher.kind, voucher.percent_off, voucher.amount_off_minor) == (
        "SPRING-25",
        "percent",
        25,
        None,
    )
    assert (voucher.max_uses, voucher.max_uses_per_patient, voucher.is_active) == (100, 2, True)
    event = AuditEvent.objects.get(action="voucher.created")
    assert event.brand_id == world.a.brand.pk and event.actor == world.a.operator
    assert event.data["code"] == "SPRING-25" and event.data["percent_off"] == 25


def test_a_fixed_voucher_ignores_a_stray_percentage(world):
    voucher = make(world.a, code="TENOFF", kind="fixed", amount_off_minor=1000, percent_off=50)
    assert (voucher.amount_off_minor, voucher.percent_off) == (1000, None)
    assert voucher.max_uses_per_patient == 1  # the default


def test_codes_are_unique_per_brand_only(world):
    make(world.a)
    with pytest.raises(ValidationError) as taken:
        make(world.a, code="Spring-25")
    assert taken.value.message_dict["code"] == ["This brand already has a voucher SPRING-25."]
    assert make(world.b).code == "SPRING-25"  # another brand may use it
    assert vouchers.do_create_voucher(
        world.a.sister, {"code": "spring-25", "kind": "fixed", "amount_off_minor": 5}, None
    )
    assert Voucher.objects.filter(code="SPRING-25").count() == 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "ab"}, "code"),
        ({"code": "with space!"}, "code"),
        ({"code": "-LEADING"}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"percent_off": 0}, "percent_off"),
        ({"percent_off": 101}, "percent_off"),
        ({"percent_off": None}, "percent_off"),
        ({"kind": "fixed", "amount_off_minor": None}, "amount_off_minor"),
        ({"kind": "fixed", "amount_off_minor": 0}, "amount_off_minor"),
        ({"kind": "free"}, "kind"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses_per_patient": 0}, "max_uses_per_patient"),
        ({"max_uses": 2, "max_uses_per_patient": 3}, "max_uses_per_patient"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(world, fields, field):
    with pytest.raises(ValidationError) as refused:
        make(world.a, **fields)
    assert field in refused.value.message_dict
    assert not Voucher.objects.exists()
    assert not AuditEvent.objects.filter(action="voucher.created").exists()


def test_dates_must_be_in_order(world):
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        make(world.a, valid_from=now, valid_until=now)
    assert refused.value.message_dict["valid_until"] == ["The voucher must end after it starts."]
    voucher = make(world.a, valid_from=now, valid_until=now + timedelta(days=30))
    assert voucher.valid_until - voucher.valid_from == timedelta(days=30)


def test_unknown_fields_are_a_programming_error(world):
    with pytest.raises(ValueError):
        make(world.a, is_active=False)


def test_checkout_takes_the_voucher_until_it_is_ended(world, localstripe):
    brand, profile, session_type = priced(world.a)
    make(world.a, code="HALF", percent_off=50, max_uses=10)
    payment = paid(world.a, session_type, localstripe, voucher="half")
    assert (payment.discount_minor, payment.amount_minor) == (PRICE // 2, PRICE // 2)
    assert ledger.balance(Account.DISCOUNTS, brand=brand) == {"EUR": PRICE // 2}
    voucher = Voucher.objects.get(code="HALF")
    assert pricing.voucher_uses(voucher) == 1

    ended = vouchers.do_end_voucher(voucher, world.a.operator, role="operator")

    assert not ended.is_active
    assert AuditEvent.objects.filter(action="voucher.ended", target_id=str(voucher.pk)).exists()
    with pytest.raises(ValidationError) as refused:
        pricing.quote(
            patient=world.a.patient, brand=brand, session_type=session_type, voucher_code="HALF"
        )
    assert refused.value.code == "voucher_unknown"
    payment.refresh_from_db()
    assert payment.voucher_id == voucher.pk  # the payment keeps its voucher
    assert profile.pk == payment.profile_id


def test_ending_twice_says_so_and_changes_nothing(world):
    voucher = make(world.a)
    vouchers.do_end_voucher(voucher, world.a.operator)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        vouchers.do_end_voucher(voucher, world.a.operator)
    assert refused.value.code == "already_ended"
    assert AuditEvent.objects.count() == events
