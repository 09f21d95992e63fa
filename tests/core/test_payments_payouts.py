"""Payout runs against real payments (localstripe): a run pays what each specialist is owed
up to the end of its period, never twice; marking a line paid moves the ledger once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments import ledger, payouts, refunds
from caredoor.core.payments.models import (
    Account,
    PayoutLine,
    PayoutRun,
    RefundReason,
    Transaction,
    TxnKind,
)
from tests.org_money_helpers import Clock, moved_clock, paid, second_specialist
from tests.payments_helpers import PRICE, priced

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    return moved_clock(monkeypatch)


SHARE = 7200  # PRICE less the default 20 % commission
FEE = PRICE - SHARE


def run(side, clock, start_days=30, end=None, currency="EUR"):  # type: ignore[no-untyped-def]
    """A run of ``side.brand`` ending yesterday (or on ``end``)."""
    end = end or clock.today(side.brand) - timedelta(days=1)
    return payouts.do_create_payout_run(
        side.brand, currency, end - timedelta(days=start_days), end, side.operator
    )


def test_a_run_pays_each_specialist_what_is_owed_and_paying_moves_the_ledger(
    world, localstripe, clock
):
    brand, profile, session_type = priced(world.a)
    other, other_type = second_specialist(world.a)
    paid(world.a, session_type, localstripe, hour=10)
    paid(world.a, session_type, localstripe, hour=12)
    paid(world.a, other_type, localstripe, hour=14)
    assert ledger.owed_to_specialists(brand) == {
        (profile.pk, "EUR"): 2 * SHARE,
        (other.pk, "EUR"): SHARE,
    }
    clock.advance(days=1)  # the day of the payments is over

    payout_run = run(world.a, clock, end=clock.today(brand) - timedelta(days=1))

    lines = {line.profile_id: line.amount_minor for line in payout_run.lines.all()}
    assert lines == {profile.pk: 2 * SHARE, other.pk: SHARE}
    assert AuditEvent.objects.filter(action="payout.run_created").count() == 1
    assert not Transaction.objects.filter(kind=TxnKind.PAYOUT).exists()  # nothing moved yet

    line = payout_run.lines.get(profile=profile)
    paid_line = payouts.do_mark_paid(line, "  SEPA 2024-001 ", world.a.operator)

    assert paid_line.reference == "SEPA 2024-001"
    assert paid_line.paid_by == world.a.operator and paid_line.paid_at is not None
    assert ledger.balance(Account.SPECIALIST_PAYABLE, brand=brand, profile_id=profile.pk) == {}
    assert ledger.owed_to_specialists(brand) == {(other.pk, "EUR"): SHARE}
    assert ledger.balance(Account.CASH, brand=brand) == {"EUR": 3 * PRICE - 2 * SHARE}
    payout = Transaction.objects.get(kind=TxnKind.PAYOUT)
    assert payout.payout_id == line.pk
    assert sum(e.amount_minor for e in payout.entries.all()) == 0
    assert AuditEvent.objects.filter(action="payout.paid", target_id=str(line.pk)).count() == 1


def test_marking_a_line_paid_twice_refuses_and_posts_once(world, localstripe, clock):
    _brand, _profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=1)
    line = run(world.a, clock).lines.get()
    payouts.do_mark_paid(line, "T-1", world.a.operator)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        payouts.do_mark_paid(line, "T-2", world.a.operator)

    assert refused.value.code == "already_paid"
    assert "T-1" in refused.value.messages[0]
    assert Transaction.objects.filter(kind=TxnKind.PAYOUT).count() == 1
    assert PayoutLine.objects.get(pk=line.pk).reference == "T-1"
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("reference", ["", "   ", "x" * 121])
def test_a_reference_is_required_and_bounded(world, localstripe, clock, reference):
    _brand, _profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=1)
    line = run(world.a, clock).lines.get()
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        payouts.do_mark_paid(line, reference, world.a.operator)
    assert "reference" in refused.value.error_dict
    line.refresh_from_db()
    assert line.paid_at is None and line.reference == ""
    assert not Transaction.objects.filter(kind=TxnKind.PAYOUT).exists()
    assert AuditEvent.objects.count() == events


def test_unpaid_lines_of_earlier_runs_are_not_paid_again(world, localstripe, clock):
    brand, _profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=2)
    first = run(world.a, clock, end=clock.today(brand) - timedelta(days=2))
    assert first.lines.get().amount_minor == SHARE
    paid(world.a, session_type, localstripe, hour=12)
    clock.advance(days=2)

    second = run(world.a, clock, start_days=2)

    assert second.lines.get().amount_minor == SHARE  # the first run's line is still unpaid
    # Both paid: nothing is owed any more, and a third run finds nothing to pay.
    payouts.do_mark_paid(first.lines.get(), "A", world.a.operator)
    payouts.do_mark_paid(second.lines.get(), "B", world.a.operator)
    assert ledger.owed_to_specialists(brand) == {}
    clock.advance(days=2)
    with pytest.raises(ValidationError) as refused:
        run(world.a, clock, start_days=1)
    assert refused.value.code == "nothing_owed"
    assert PayoutRun.objects.count() == 2


def test_a_line_paid_after_a_later_runs_end_is_not_counted_twice(world, localstripe, clock):
    """The ledger's payout is posted when the line is paid: a line paid after the next
    run's period ended has not lowered the balance at that end yet."""
    brand, _profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=1)
    first = run(world.a, clock, end=clock.today(brand) - timedelta(days=1), start_days=5)
    paid(world.a, session_type, localstripe, hour=12)
    clock.advance(days=3)
    payouts.do_mark_paid(first.lines.get(), "LATE", world.a.operator)  # after the period below

    second = payouts.do_create_payout_run(
        brand,
        "EUR",
        first.period_end + timedelta(days=1),
        first.period_end + timedelta(days=2),
        world.a.operator,
    )

    assert second.lines.get().amount_minor == SHARE
    payouts.do_mark_paid(second.lines.get(), "NEXT", world.a.operator)
    assert ledger.owed_to_specialists(brand) == {}


def test_payments_after_the_period_wait_for_the_next_run(world, localstripe, clock):
    brand, profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=1)
    paid(world.a, session_type, localstripe, hour=12)  # today: after the period below
    clock.advance(days=1)
    payout_run = run(world.a, clock, end=clock.today(brand) - timedelta(days=2))
    assert payout_run.lines.get().amount_minor == SHARE
    assert ledger.owed_to_specialists(brand) == {(profile.pk, "EUR"): 2 * SHARE}


def test_a_refund_lowers_what_is_paid_out(world, localstripe, clock):
    _brand, _profile, session_type = priced(world.a)
    payment = paid(world.a, session_type, localstripe)
    refunds.do_refund(
        payment, PRICE // 2, reason=RefundReason.STAFF, note="goodwill", actor=world.a.operator
    )
    clock.advance(days=1)
    assert run(world.a, clock).lines.get().amount_minor == SHARE // 2


def test_the_period_ends_at_midnight_in_the_brands_zone():
    from types import SimpleNamespace

    berlin = SimpleNamespace(time_zone="Europe/Berlin")
    end = payouts.end_of_day(berlin, date(2025, 3, 30))  # the day clocks go forward
    assert end == datetime(2025, 3, 31, tzinfo=ZoneInfo("Europe/Berlin"))
    assert end.astimezone(ZoneInfo("UTC")) == datetime(2025, 3, 30, 22, tzinfo=ZoneInfo("UTC"))
    auckland = SimpleNamespace(time_zone="Pacific/Auckland")
    assert payouts.end_of_day(auckland, date(2025, 1, 31)).astimezone(ZoneInfo("UTC")) == datetime(
        2025, 1, 31, 11, tzinfo=ZoneInfo("UTC")
    )


def test_amounts_are_read_up_to_the_end_of_the_day_in_the_brands_zone(world, localstripe):
    brand, profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    paid_at = Transaction.objects.get(kind=TxnKind.PAYMENT).created_at
    day = paid_at.astimezone(ZoneInfo(brand.time_zone)).date()
    until = payouts.end_of_day(brand, day)
    assert payouts.amounts_due(brand, "EUR", until) == {profile.pk: SHARE}
    assert payouts.amounts_due(brand, "EUR", payouts.end_of_day(brand, day - timedelta(1))) == {}


# --- refusals: clear errors, nothing written ------------------------------------------------


def refused(side, start, end, currency="EUR"):  # type: ignore[no-untyped-def]
    runs, lines = PayoutRun.objects.count(), PayoutLine.objects.count()
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        payouts.do_create_payout_run(side.brand, currency, start, end, side.operator)
    assert PayoutRun.objects.count() == runs and PayoutLine.objects.count() == lines
    assert AuditEvent.objects.count() == events
    return error.value


def test_refusals_write_nothing(world, localstripe, clock):
    brand, _profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=3)
    today = clock.today(brand)

    day = timedelta(days=1)
    backwards = refused(world.a, today - day, today - 2 * day).message_dict
    assert backwards["period_end"] == ["The period must end on or after the day it starts."]
    future = refused(world.a, today - 5 * day, today + 3 * day).message_dict
    assert "choose an end before today" in future["period_end"][0]
    assert "period_end" in refused(world.a, today - 5 * day, today).message_dict  # not over
    assert "currency" in refused(world.a, today - 5 * day, today - day, "XXX").message_dict

    made = run(world.a, clock, end=today - day, start_days=10)
    overlap = refused(world.a, today - 20 * day, today - 5 * day).message_dict
    period = f"{made.period_start.isoformat()} to {made.period_end.isoformat()}"
    assert period in overlap["period_start"][0]
    before = refused(world.a, made.period_start - 30 * day, made.period_start - day).message_dict
    assert "start after the last run" in before["period_start"][0]
    # Each currency has runs of its own: nobody is owed anything in USD.
    assert refused(world.a, today - 5 * day, today - day, "USD").code == "nothing_owed"


def test_runs_of_one_brand_never_include_another_brands_money(world, localstripe, clock):
    brand, profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    _b_brand, b_profile, b_type = priced(world.b)
    paid(world.b, b_type, localstripe)
    clock.advance(days=1)
    a_run = run(world.a, clock)
    b_run = run(world.b, clock)
    assert list(a_run.lines.values_list("profile_id", flat=True)) == [profile.pk]
    assert list(b_run.lines.values_list("profile_id", flat=True)) == [b_profile.pk]
    assert ledger.owed_to_specialists(brand) == {(profile.pk, "EUR"): SHARE}
