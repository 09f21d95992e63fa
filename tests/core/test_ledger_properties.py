"""The ledger's invariants, under hypothesis.

Random sequences of payments (list prices, commission percents with and without a listing's
override, voucher discounts, platform or Stripe Connect billing, several currencies and
brands), partial and full refunds (several per payment) and payouts are written through
``payments.posting`` on real Payment / Refund / PayoutLine rows. After every sequence:

* every transaction sums to zero in each currency;
* every balance ``ledger.balance`` and ``ledger.owed_to_specialists`` reports equals the sum
  of its entries, added up here in Python;
* a payment's refunds never reverse more cash than the payment brought in, each account of
  a payment is reversed in proportion to what was refunded (within a minor unit per line),
  and refunds that add up to the whole payment leave every account of it at zero;
* posting the same thing twice writes nothing.

Also: ``ledger.scaled_reversal`` is exact, ledger rows cannot be updated or deleted, and
``refunds.do_refund`` refuses (writing nothing, here or at Stripe) a refund larger than what
is left -- that one against localstripe.

Each hypothesis example runs in a transaction that is rolled back, so examples do not see
each other's rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments import ledger, posting, pricing, refunds, stripe_api
from caredoor.core.payments.ledger import Line
from caredoor.core.payments.models import (
    Account,
    Billing,
    Entry,
    Payment,
    PaymentStatus,
    PayoutLine,
    PayoutRun,
    Refund,
    RefundReason,
    RefundStatus,
    Transaction,
    TxnKind,
    Voucher,
    VoucherKind,
)
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.payments_helpers import book_held, pay, priced

pytestmark = pytest.mark.django_db

CURRENCIES = ["EUR", "CHF", "JPY"]
EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Rollback(Exception):
    """Ends an example's transaction (its rows are never committed)."""


@dataclass
class Cast:
    brands: list[Any]
    profiles: list[Any]
    patient: Any


@pytest.fixture
def cast(world) -> Cast:
    """Two brands of one network, three specialists, one patient."""
    profiles = [do_register_specialist(world.a.specialist, world.a.brand)]
    for n in range(2):
        user = factories.make_user(f"ledger-specialist-{n}@example.test")
        profiles.append(do_register_specialist(user, world.a.brand))
    return Cast([world.a.brand, world.a.sister], profiles, world.a.patient)


# --- building rows --------------------------------------------------------------------------


@st.composite
def payment_specs(draw: Any) -> dict[str, Any]:
    list_minor = draw(st.integers(min_value=1, max_value=500_000))
    brand_percent = Decimal(draw(st.integers(min_value=0, max_value=10_000))) / 100
    override = draw(st.none() | st.integers(min_value=0, max_value=10_000))
    percent = brand_percent if override is None else Decimal(override) / 100
    voucher = draw(
        st.none()
        | st.builds(
            lambda p: Voucher(kind=VoucherKind.PERCENT, percent_off=p),
            st.integers(min_value=1, max_value=100),
        )
        | st.builds(
            lambda a: Voucher(kind=VoucherKind.FIXED, amount_off_minor=a),
            st.integers(min_value=1, max_value=600_000),
        )
    )
    return {
        "brand": draw(st.integers(min_value=0, max_value=1)),
        "profile": draw(st.integers(min_value=0, max_value=2)),
        "currency": draw(st.sampled_from(CURRENCIES)),
        "list_minor": list_minor,
        "percent": percent,
        "discount_minor": pricing.discount_of(voucher, list_minor) if voucher else 0,
        "billing": draw(st.sampled_from([Billing.PLATFORM, Billing.CONNECT])),
    }


def make_payment(cast: Cast, spec: dict[str, Any], n: int) -> Payment:
    """A paid payment, as ``checkout.settle`` leaves it, posted to the ledger."""
    fee = pricing.percent_of(spec["list_minor"], spec["percent"])
    payment = Payment(
        brand=cast.brands[spec["brand"]],
        patient=cast.patient,
        profile=cast.profiles[spec["profile"]],
        currency=spec["currency"],
        list_minor=spec["list_minor"],
        discount_minor=spec["discount_minor"],
        amount_minor=spec["list_minor"] - spec["discount_minor"],
        fee_minor=fee,
        share_minor=spec["list_minor"] - fee,
        commission_percent=spec["percent"],
        billing=spec["billing"],
        destination="acct_test" if spec["billing"] == Billing.CONNECT else "",
        lines=[
            {"label": "Session", "amount_minor": spec["list_minor"]},
            {"label": "Voucher", "amount_minor": -spec["discount_minor"]},
        ],
        status=PaymentStatus.SUCCEEDED,
        intent_id=f"pi_property_{n}",
        succeeded_at=timezone.now(),
    )
    payment.full_clean()
    payment.save()
    posting.post_payment(payment)
    return payment


def make_refund(payment: Payment, amount: int) -> Refund:
    """A refund Stripe reported succeeded, as ``refunds.apply_refund`` leaves it."""
    refund = Refund(
        payment=payment,
        amount_minor=amount,
        reason=RefundReason.STAFF,
        note="property test",
        status=RefundStatus.SUCCEEDED,
        succeeded_at=timezone.now(),
    )
    refund.full_clean()
    refund.save()
    payment.refunded_minor += amount
    payment.save(update_fields=["refunded_minor"])
    posting.post_refund(refund)
    return refund


def make_payout(cast: Cast, brand: int, profile: int, currency: str, amount: int) -> PayoutLine:
    run = PayoutRun.objects.create(
        brand=cast.brands[brand],
        currency=currency,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
    )
    line = PayoutLine.objects.create(
        run=run,
        profile=cast.profiles[profile],
        amount_minor=amount,
        paid_at=timezone.now(),
        reference="property test",
    )
    posting.post_payout(line)
    return line


def ledger_rows() -> tuple[int, int]:
    return Transaction.objects.count(), Entry.objects.count()


# --- checking -------------------------------------------------------------------------------


def entries_by_payment() -> dict[int, dict[str, int]]:
    """Per payment, per account: the sum of the entries of the payment's transactions."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for payment_id, account, amount in Entry.objects.filter(txn__payment__isnull=False).values_list(
        "txn__payment_id", "account", "amount_minor"
    ):
        totals[payment_id][account] += amount
    return totals


def check_every_transaction_balances() -> None:
    totals: dict[tuple[int, str], int] = defaultdict(int)
    counts: dict[int, int] = defaultdict(int)
    for txn_id, currency, amount in Entry.objects.values_list("txn_id", "currency", "amount_minor"):
        totals[(txn_id, currency)] += amount
        counts[txn_id] += 1
        assert amount != 0
    assert {key: total for key, total in totals.items() if total} == {}
    # No transaction without entries.
    assert set(counts) == set(Transaction.objects.values_list("pk", flat=True))


def check_balances_are_sums(cast: Cast) -> None:
    rows = list(
        Entry.objects.values_list("account", "brand_id", "profile_id", "currency", "amount_minor")
    )

    def summed(keep: Any) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for account, brand_id, profile_id, currency, amount in rows:
            if keep(account, brand_id, profile_id, currency):
                out[currency] += amount
        return {currency: total for currency, total in out.items() if total}

    for account in Account.values:
        assert ledger.balance(account) == summed(lambda a, *_: a == account)  # noqa: B023
        for brand in cast.brands:
            assert ledger.balance(account, brand=brand) == summed(
                lambda a, b, *_: a == account and b == brand.pk  # noqa: B023
            )
            for currency in CURRENCIES:
                got = ledger.balance(account, brand=brand, currency=currency)
                want = summed(
                    lambda a, b, _p, c: a == account and b == brand.pk and c == currency  # noqa: B023
                )
                assert got == want
        for profile in cast.profiles:
            assert ledger.balance(account, profile_id=profile.pk) == summed(
                lambda a, _b, p, _c: a == account and p == profile.pk  # noqa: B023
            )
    for brand in cast.brands:
        owed: dict[tuple[int, str], int] = defaultdict(int)
        for account, brand_id, profile_id, currency, amount in rows:
            if account == Account.SPECIALIST_PAYABLE and brand_id == brand.pk:
                owed[(profile_id, currency)] -= amount
        assert ledger.owed_to_specialists(brand) == {k: v for k, v in owed.items() if v}


def original_lines(payment: Payment) -> list[Line]:
    """What posting a payment writes, derived here from the row (not read back)."""
    c = payment.currency
    lines = [
        Line(Account.CASH, payment.amount_minor, c),
        Line(Account.DISCOUNTS, payment.discount_minor, c),
        Line(Account.SPECIALIST_PAYABLE, -payment.share_minor, c, payment.profile_id),
        Line(Account.PLATFORM_FEES, -payment.fee_minor, c),
    ]
    transfer = min(payment.amount_minor, payment.share_minor)
    if payment.billing == Billing.CONNECT and transfer:
        lines += [
            Line(Account.SPECIALIST_PAYABLE, transfer, c, payment.profile_id),
            Line(Account.CASH, -transfer, c),
        ]
    return [line for line in lines if line.amount_minor]


def check_payment_accounts(payment: Payment, totals: dict[str, int]) -> None:
    payment.refresh_from_db()
    refunded = sum(payment.refunds.values_list("amount_minor", flat=True))
    assert refunded == payment.refunded_minor <= payment.amount_minor
    lines = original_lines(payment)
    # Per account: what was posted, less the refunded share of it (each line may be off by
    # at most one minor unit of its exact share).
    expected: dict[str, Fraction] = defaultdict(Fraction)
    slack: dict[str, int] = defaultdict(int)
    kept = Fraction(payment.amount_minor - refunded, payment.amount_minor) if refunded else 1
    for line in lines:
        expected[line.account] += line.amount_minor * kept
        slack[line.account] += 1 if refunded else 0
    for account in Account.values:
        got = totals.get(account, 0)
        assert abs(got - expected[account]) <= slack[account], (account, got, expected[account])
    if payment.amount_minor and refunded == payment.amount_minor:
        assert {a: v for a, v in totals.items() if v} == {}
    # The cash refunds reverse never exceeds what the payment brought in.
    brought_in = sum(line.amount_minor for line in lines if line.account == Account.CASH)
    reversed_cash = -sum(
        Entry.objects.filter(
            txn__payment=payment, txn__kind=TxnKind.REFUND, account=Account.CASH
        ).values_list("amount_minor", flat=True)
    )
    assert 0 <= reversed_cash <= brought_in <= payment.amount_minor
    if payment.billing == Billing.PLATFORM:
        assert totals.get(Account.CASH, 0) == payment.amount_minor - refunded


# --- the properties -------------------------------------------------------------------------


@EXAMPLES
@given(data=st.data())
def test_ledger_invariants_over_random_payments_refunds_and_payouts(cast, data):
    try:
        with transaction.atomic():
            run_sequence(cast, data)
            raise Rollback
    except Rollback:
        pass


def run_sequence(cast: Cast, data: Any) -> None:
    payments: list[Payment] = []
    steps = data.draw(
        st.lists(st.sampled_from(["pay", "refund", "refund_rest", "payout"]), max_size=14)
    )
    for n, step in enumerate(["pay", *steps]):
        if step == "pay":
            payments.append(make_payment(cast, data.draw(payment_specs()), n))
            continue
        if step == "payout":
            owed = [
                (key, amount)
                for brand_index, brand in enumerate(cast.brands)
                for key, amount in ledger.owed_to_specialists(brand).items()
                if amount > 0
                for key in [(brand_index, *key)]
            ]
            if owed:
                (brand_index, profile_id, currency), amount = data.draw(st.sampled_from(owed))
                profile = next(i for i, p in enumerate(cast.profiles) if p.pk == profile_id)
                part = data.draw(st.integers(min_value=1, max_value=amount))
                make_payout(cast, brand_index, profile, currency, part)
            continue
        open_ = [p for p in payments if p.amount_minor - p.refunded_minor > 0]
        if not open_:
            continue
        payment = data.draw(st.sampled_from(open_))
        left = payment.amount_minor - payment.refunded_minor
        amount = left if step == "refund_rest" else data.draw(st.integers(1, left))
        make_refund(payment, amount)

    check_every_transaction_balances()
    check_balances_are_sums(cast)
    totals = entries_by_payment()
    for payment in payments:
        check_payment_accounts(payment, totals.get(payment.pk, {}))

    # Posting again writes nothing: the keys are the payment, the refund, the payout line.
    before = ledger_rows()
    for payment in payments:
        posting.post_payment(payment)
        for refund in payment.refunds.all():
            posting.post_refund(refund)
    for line in PayoutLine.objects.all():
        posting.post_payout(line)
    assert ledger_rows() == before


@st.composite
def balanced_lines(draw: Any) -> list[Line]:
    """Debits and credits that balance in each of one to three currencies. Each line is
    tagged with its index (as ``profile_id``) so its reversal can be found."""
    lines: list[Line] = []
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=3, unique=True))
    for currency in currencies:
        debits = draw(st.lists(st.integers(1, 10**7), min_size=1, max_size=4))
        total = sum(debits)
        cuts = (
            sorted(set(draw(st.lists(st.integers(1, total - 1), max_size=3)))) if total > 1 else []
        )
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        accounts = st.sampled_from(Account.values)
        amounts = [*debits, *(-c for c in credits)]
        amounts = draw(st.permutations(amounts))
        lines += [Line(draw(accounts), a, currency, len(lines) + i) for i, a in enumerate(amounts)]
    return lines


@settings(max_examples=300, deadline=None)
@given(lines=balanced_lines(), data=st.data())
def test_scaled_reversal_is_exact(lines, data):
    denominator = data.draw(st.integers(1, 10**7))
    numerator = data.draw(st.integers(1, denominator))
    reversal = ledger.scaled_reversal(lines, numerator, denominator)

    ledger.check_balanced(reversal)  # balances in every currency
    by_tag = {line.profile_id: line for line in reversal}
    assert len(by_tag) == len(reversal)
    for line in lines:
        got = by_tag.pop(line.profile_id, None)
        amount = got.amount_minor if got else 0
        if got:
            assert (got.account, got.currency) == (line.account, line.currency)
            assert amount != 0
        # The opposite sign, and the exact share rounded down or up (never beyond).
        share = Fraction(-line.amount_minor * numerator, denominator)
        assert math.floor(share) <= amount <= math.ceil(share)
    assert by_tag == {}
    if numerator == denominator:
        assert [line.amount_minor for line in reversal] == [-line.amount_minor for line in lines]

    with pytest.raises(ValueError):
        ledger.scaled_reversal(lines, 0, denominator)
    with pytest.raises(ValueError):
        ledger.scaled_reversal(lines, denominator + 1, denominator)


def test_posting_the_same_key_twice_writes_nothing(cast):
    brand = cast.brands[0]
    lines = [Line(Account.CASH, 500, "EUR"), Line(Account.PLATFORM_FEES, -500, "EUR")]
    first = ledger.post(brand=brand, kind=TxnKind.PAYMENT, key="once", lines=lines)
    other = [Line(Account.CASH, 900, "EUR"), Line(Account.PLATFORM_FEES, -900, "EUR")]
    again = ledger.post(brand=brand, kind=TxnKind.PAYMENT, key="once", lines=other)
    assert again.pk == first.pk
    assert list(Entry.objects.values_list("amount_minor", flat=True)) == [500, -500]


def test_unbalanced_or_unknown_lines_are_refused_and_write_nothing(cast):
    brand = cast.brands[0]
    with pytest.raises(ledger.Unbalanced):
        ledger.post(
            brand=brand,
            kind=TxnKind.PAYMENT,
            key="off",
            lines=[Line(Account.CASH, 500, "EUR"), Line(Account.PLATFORM_FEES, -499, "EUR")],
        )
    with pytest.raises(ledger.Unbalanced):  # balanced in sum, not per currency
        ledger.post(
            brand=brand,
            kind=TxnKind.PAYMENT,
            key="mixed",
            lines=[Line(Account.CASH, 500, "EUR"), Line(Account.PLATFORM_FEES, -500, "CHF")],
        )
    with pytest.raises(ledger.Unbalanced):
        ledger.post(
            brand=brand,
            kind=TxnKind.PAYMENT,
            key="unknown",
            lines=[Line("petty_cash", 500, "EUR"), Line(Account.PLATFORM_FEES, -500, "EUR")],
        )
    assert ledger_rows() == (0, 0)


def test_ledger_rows_cannot_be_updated_or_deleted(cast):
    spec = {
        "brand": 0,
        "profile": 0,
        "currency": "EUR",
        "list_minor": 9000,
        "percent": Decimal(20),
        "discount_minor": 1000,
        "billing": Billing.PLATFORM,
    }
    payment = make_payment(cast, spec, 1)
    txn = Transaction.objects.get(payment=payment)
    entry = txn.entries.first()
    before = list(Entry.objects.values_list("pk", "account", "amount_minor"))

    entry.amount_minor += 1
    attempts = [
        entry.save,
        entry.delete,
        txn.save,
        txn.delete,
        lambda: Entry.objects.filter(pk=entry.pk).update(amount_minor=1),
        lambda: Entry.objects.all().delete(),
        lambda: Entry.objects.bulk_update([entry], ["amount_minor"]),
        lambda: Transaction.objects.filter(pk=txn.pk).update(key="changed"),
        lambda: Transaction.objects.all().delete(),
        lambda: txn.entries.all().delete(),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError), transaction.atomic():
            attempt()
    # The payment cannot take the ledger with it either.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()
    assert list(Entry.objects.values_list("pk", "account", "amount_minor")) == before
    assert Transaction.objects.get(pk=txn.pk).key == f"payment:{payment.pk}"


# --- do_refund never refunds more than is left (against localstripe) ----------------------


def stripe_refunds(payment: Payment) -> list[int]:
    return [r["amount"] for r in stripe_api.list_refunds(payment.intent_id)]


def snapshot_refund_state(payment: Payment) -> tuple[Any, ...]:
    payment.refresh_from_db()
    return (
        payment.refunded_minor,
        list(Refund.objects.values_list("pk", "amount_minor", "status")),
        ledger_rows(),
        AuditEvent.objects.count(),
        sorted(stripe_refunds(payment)),
    )


def test_do_refund_refuses_more_than_is_left_and_writes_nothing(world, localstripe):
    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    payment = pay(world.a, payment, localstripe)
    assert payment.status == PaymentStatus.SUCCEEDED

    first = refunds.do_refund(payment, 6000, reason=RefundReason.STAFF, note="goodwill")
    assert first.status == RefundStatus.SUCCEEDED
    before = snapshot_refund_state(payment)
    assert before[0] == 6000 and before[4] == [6000]

    for amount in (3001, 9000, 10**9):
        with pytest.raises(ValidationError) as refused:
            refunds.do_refund(payment, amount, reason=RefundReason.STAFF, note="too much")
        assert refused.value.message_dict == {"amount": ["That is more than is left to refund."]}
        assert snapshot_refund_state(payment) == before
    for amount in (0, -5):
        with pytest.raises(ValidationError):
            refunds.do_refund(payment, amount, reason=RefundReason.STAFF, note="nothing")
        assert snapshot_refund_state(payment) == before

    # Exactly what is left is fine, and then nothing is left.
    last = refunds.do_refund(payment, 3000, reason=RefundReason.STAFF, note="the rest")
    assert last.status == RefundStatus.SUCCEEDED
    payment.refresh_from_db()
    assert payment.refunded_minor == payment.amount_minor and payment.refundable_minor == 0
    with pytest.raises(ValidationError):
        refunds.do_refund(payment, 1, reason=RefundReason.STAFF, note="one more")
    assert sorted(stripe_refunds(payment)) == [3000, 6000]
    assert {a: v for a, v in entries_by_payment()[payment.pk].items() if v} == {}

    # The database refuses it too, whoever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_minor=payment.amount_minor + 1)


def test_a_pending_refund_holds_its_amount(world, localstripe, settings):
    """A refund Stripe has not answered yet still counts: a second one cannot take the
    same money."""
    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    payment = pay(world.a, payment, localstripe)

    from tests.smtp_server import free_port

    settings.PAYMENTS = {**settings.PAYMENTS, "api_base": f"http://127.0.0.1:{free_port()}"}
    pending = refunds.do_refund(payment, 7000, reason=RefundReason.STAFF, note="waiting")
    assert pending.status == RefundStatus.PENDING
    payment.refresh_from_db()
    assert payment.refunded_minor == 7000

    with pytest.raises(ValidationError):
        refunds.do_refund(payment, 2001, reason=RefundReason.STAFF, note="too much")
    assert Refund.objects.count() == 1


@pytest.mark.parametrize(
    ("spec", "parts"),
    [
        # 20 % of 3 is 1: three refunds of 1 used to leave the fee and the share one unit off.
        ({"list_minor": 3, "percent": Decimal(20), "billing": Billing.PLATFORM}, [1, 1, 1]),
        # A destination charge refunded in two parts (found by the property above).
        ({"list_minor": 8294, "percent": Decimal("3.52"), "billing": Billing.CONNECT}, [1, 8293]),
        ({"list_minor": 9000, "percent": Decimal(20), "billing": Billing.CONNECT}, [3001] * 2),
    ],
)
def test_refunds_that_make_up_the_whole_payment_leave_nothing(cast, spec, parts):
    payment = make_payment(
        cast, {"brand": 0, "profile": 0, "currency": "EUR", "discount_minor": 0, **spec}, 1
    )
    for part in parts:
        make_refund(payment, part)
    rest = payment.amount_minor - sum(parts)
    if rest:
        make_refund(payment, rest)
    assert {a: v for a, v in entries_by_payment()[payment.pk].items() if v} == {}
    check_every_transaction_balances()
