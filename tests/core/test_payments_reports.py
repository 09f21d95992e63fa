"""The specialist's transactions, revenue at a glance and monthly sales report
(``core.payments.reports``), over real payments: booked and paid through localstripe,
refunded through ``do_refund``; the totals are checked against the ledger's own sums."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation

from caredoor.core.payments import checkout, ledger, posting, refunds, reports
from caredoor.core.payments.models import (
    Account,
    Billing,
    ConnectAccount,
    Entry,
    Payment,
    PayoutLine,
    PayoutRun,
    Refund,
    RefundReason,
    TxnKind,
    Voucher,
)
from caredoor.core.payments.refunds import do_refund
from caredoor.core.payments.reports import Month
from tests import factories
from tests.booking_helpers import local
from tests.payments_helpers import PRICE, book_held, pay, priced
from tests.pdf_text import pdf_text
from tests.specialist_helpers import approved_and_listed

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
MONEY_KINDS = [TxnKind.PAYMENT, TxnKind.REFUND, TxnKind.CONNECT_TRANSFER]


def clock(monkeypatch: Any, module: Any, at: Any) -> None:
    """``module`` reads ``at`` as the time (when Stripe's answer settles a payment or a
    refund); every other clock, and Stripe, stay real."""
    monkeypatch.setattr(module, "timezone", SimpleNamespace(now=lambda: at))


def ledger_sums(profile: Any, month: Month) -> dict[str, int]:
    """The ledger's own account of ``month`` (the profile's zone) for the specialist's
    payments and refunds: each account's sum, per account name (EUR)."""
    since, until = month.bounds(reports.zone_of(profile))
    entries = Entry.objects.filter(
        txn__kind__in=MONEY_KINDS,
        txn__created_at__gte=since,
        txn__created_at__lt=until,
        txn__payment__profile=profile,
        currency="EUR",
    )
    out = {
        account: entries.filter(account=account).aggregate(s=Sum("amount_minor"))["s"] or 0
        for account in (Account.CASH, Account.DISCOUNTS, Account.PLATFORM_FEES)
    }
    out["share"] = (
        entries.filter(account=Account.SPECIALIST_PAYABLE, profile=profile).aggregate(
            s=Sum("amount_minor")
        )["s"]
        or 0
    )
    return out


@pytest.fixture
def money(world, localstripe):  # type: ignore[no-untyped-def]
    """Brand A takes payments at 90.00 EUR (20 % commission). Jürgen Müller pays one session
    in full and one with a 50 % voucher; the first is then refunded 30.00 by staff."""
    brand, profile, session_type = priced(world.a)
    patient = world.a.patient
    patient.name = "Jürgen Müller"
    patient.save(update_fields=["name"])
    Voucher.objects.create(brand=brand, code="HALF", kind="percent", percent_off=50)
    _b1, first = book_held(world.a, session_type, hour=10)
    first = pay(world.a, first, localstripe)
    _b2, second = book_held(world.a, session_type, hour=12, voucher="HALF")
    second = pay(world.a, second, localstripe)
    refund = do_refund(
        first, 3000, reason=RefundReason.STAFF, actor=world.a.operator, note="Goodwill"
    )
    assert (first.status, second.status, refund.status) == ("succeeded", "succeeded", "succeeded")
    return SimpleNamespace(
        brand=brand,
        profile=profile,
        session_type=session_type,
        first=first,
        second=second,
        refund=refund,
        month=Month.of(timezone.now(), BERLIN),
    )


# --- transactions ----------------------------------------------------------------------------


def test_transactions_are_payments_and_refunds_newest_first(money):
    rows = reports.transactions(money.profile)

    assert [(r.kind, r.payment_id) for r in rows] == [
        ("refund", money.first.pk),
        ("payment", money.second.pk),
        ("payment", money.first.pk),
    ]
    refund, voucher, full = rows
    assert (full.list_minor, full.discount_minor, full.paid_minor) == (9000, 0, 9000)
    assert (full.fee_minor, full.share_minor) == (1800, 7200)
    # The voucher is the platform's: the specialist's share is the same.
    assert (voucher.list_minor, voucher.discount_minor, voucher.paid_minor) == (9000, 4500, 4500)
    assert (voucher.fee_minor, voucher.share_minor) == (1800, 7200)
    # A third refunded: a third of the fee and of the share go back.
    assert (refund.list_minor, refund.discount_minor, refund.paid_minor) == (-3000, 0, -3000)
    assert (refund.fee_minor, refund.share_minor) == (-600, -2400)
    for row in rows:
        assert row.list_minor - row.discount_minor == row.paid_minor
        assert row.brand_name == "Brand A" and row.currency == "EUR"
        assert row.patient == "Jürgen Müller"
        assert row.session_type == "Session" and row.session_start is not None
        assert row.billing == Billing.PLATFORM and row.billing_label == "Platform"
        assert row.receipt_number
    assert refund.receipt_number == full.receipt_number == money.first.receipt_number
    assert refund.kind_label == "Refund" and full.kind_label == "Payment"
    assert full.share_display == "72.00 EUR" and refund.share_display == "-24.00 EUR"


def test_a_refunds_share_is_read_from_its_ledger_transaction(money):
    row = reports.transactions(money.profile)[0]
    txn = money.refund.transactions.get(kind=TxnKind.REFUND)
    payable = txn.entries.filter(account=Account.SPECIALIST_PAYABLE, profile=money.profile)
    assert row.share_minor == -sum(e.amount_minor for e in payable) == -2400
    fees = txn.entries.get(account=Account.PLATFORM_FEES)
    assert row.fee_minor == -fees.amount_minor


def test_a_full_refund_of_a_voucher_payment_gives_back_the_discount_too(money, world):
    refund = do_refund(money.second, 4500, reason=RefundReason.STAFF, actor=None, note="Sorry")
    assert refund.status == "succeeded"
    row = reports.transactions(money.profile)[0]
    assert (row.kind, row.refund_id) == ("refund", refund.pk)
    assert (row.list_minor, row.discount_minor, row.paid_minor) == (-9000, -4500, -4500)
    assert (row.fee_minor, row.share_minor) == (-1800, -7200)


def test_failed_and_unpaid_payments_are_not_transactions(money, world, localstripe):
    from tests.stripe_server import CARD_DECLINED

    _b, waiting = book_held(world.a, money.session_type, hour=14)
    _b, declined = book_held(world.a, money.session_type, hour=15, days=8)
    pay(world.a, declined, localstripe, CARD_DECLINED)
    ids = {row.payment_id for row in reports.transactions(money.profile)}
    assert ids == {money.first.pk, money.second.pk}
    assert waiting.pk not in ids and declined.pk not in ids


def test_a_month_filter_and_a_brand_filter(money, world):
    this = money.month
    assert len(reports.transactions(money.profile, month=this)) == 3
    assert len(reports.transactions(money.profile, month=(this.year, this.month))) == 3
    assert reports.transactions(money.profile, month=this.previous()) == []
    assert reports.transactions(money.profile, month=this.next()) == []
    assert len(reports.transactions(money.profile, brand=money.brand)) == 3
    assert reports.transactions(money.profile, brand=world.a.sister) == []
    assert reports.payment_brands(money.profile) == [money.brand]
    assert reports.first_month(money.profile) == this
    assert reports.has_payments(money.profile)
    recent = reports.recent(money.profile, 2)
    assert [r.kind for r in recent] == ["refund", "payment"]
    assert recent == reports.transactions(money.profile)[:2]


def test_months_are_the_specialists_own(world, localstripe, monkeypatch):
    """Paid at 00:30 on the first of last month in Berlin -- still the month before in UTC:
    the transaction is last month's for a Berlin specialist, in the ledger's sums too."""
    _brand, profile, session_type = priced(world.a)
    assert profile.time_zone == "Europe/Berlin"
    last = Month.of(timezone.now(), BERLIN).previous()
    at = last.start(BERLIN) + timedelta(minutes=30)
    assert Month.of(at, ZoneInfo("UTC")) == last.previous()
    _booking, payment = book_held(world.a, session_type)
    clock(monkeypatch, checkout, at)
    paid = pay(world.a, payment, localstripe)
    assert paid.succeeded_at == at

    assert [r.payment_id for r in reports.transactions(profile, month=last)] == [paid.pk]
    assert reports.transactions(profile, month=last.previous()) == []
    report = reports.monthly_report(profile, last.year, last.month)
    assert [r.payment_id for r in report.rows] == [paid.pk]
    assert report.totals[0].share_minor == -ledger_sums(profile, last)["share"] == 7200
    assert ledger_sums(profile, last.previous())["share"] == 0
    summary = reports.revenue_summary(profile, timezone.now())
    assert summary.currencies[0].last_month_minor == 7200
    assert summary.currencies[0].this_month_minor == 0
    assert summary.currencies[0].sessions_this_month == 0

    # A specialist in Los Angeles reads the same payment in the month before.
    profile.time_zone = "America/Los_Angeles"
    profile.save(update_fields=["time_zone"])
    assert reports.transactions(profile, month=last) == []
    assert len(reports.transactions(profile, month=last.previous())) == 1
    # Without a zone on the profile, the account's zone counts; without either, UTC.
    profile.time_zone = ""
    profile.save(update_fields=["time_zone"])
    profile.user.time_zone = "Europe/Berlin"
    profile.user.save(update_fields=["time_zone"])
    assert reports.zone_of(profile).key == "Europe/Berlin"
    profile.user.time_zone = ""
    profile.user.save(update_fields=["time_zone"])
    assert reports.zone_of(profile).key == "UTC"


# --- the report adds up to the ledger ----------------------------------------------------------


def test_the_months_report_totals_equal_the_ledger(money):
    report = reports.monthly_report(money.profile, money.month.year, money.month.month)
    assert [r.kind for r in report.rows] == ["payment", "payment", "refund"]  # oldest first
    (total,) = report.totals
    sums = ledger_sums(money.profile, money.month)

    assert total.share_minor == -sums["share"] == 7200 + 7200 - 2400
    assert total.paid_minor == sums[Account.CASH] == 9000 + 4500 - 3000
    assert total.fee_minor == -sums[Account.PLATFORM_FEES] == 1800 + 1800 - 600
    assert total.discount_minor == sums[Account.DISCOUNTS] == 4500
    assert total.list_minor == total.paid_minor + total.discount_minor
    assert (total.payments, total.refunds) == (2, 1)
    assert report.specialist == "Dr. Listed"
    assert report.filename("csv") == f"sales-{money.month.key}.csv"


def test_report_totals_equal_the_ledger_after_more_refunds(money):
    do_refund(money.second, 1234, reason=RefundReason.STAFF, actor=None, note="Partly")
    do_refund(money.first, 999, reason=RefundReason.STAFF, actor=None, note="Again")
    report = reports.monthly_report(money.profile, money.month.year, money.month.month)
    (total,) = report.totals
    sums = ledger_sums(money.profile, money.month)
    assert total.share_minor == -sums["share"]
    assert total.paid_minor == sums[Account.CASH]
    assert total.fee_minor == -sums[Account.PLATFORM_FEES]
    assert total.discount_minor == sums[Account.DISCOUNTS]
    assert (total.payments, total.refunds) == (2, 3)
    # What the platform owes the specialist is the same sum (nothing paid out yet).
    assert reports.owed(money.profile) == {"EUR": total.share_minor}


def test_an_empty_month_has_no_rows_and_no_totals(money):
    report = reports.monthly_report(money.profile, 2020, 2)
    assert report.rows == () and report.totals == ()
    assert report.filename("pdf") == "sales-2020-02.pdf"
    assert reports.report_csv(report).splitlines() == [",".join(reports.columns())]
    assert pdf_text(reports.report_pdf(report)).count("No payments or refunds in this month.") == 1


# --- revenue at a glance -------------------------------------------------------------------------


def test_revenue_at_a_glance(money, world):
    summary = reports.revenue_summary(money.profile, timezone.now())
    (eur,) = summary.currencies
    assert summary.month == money.month and summary.zone == "Europe/Berlin"
    assert (eur.this_month_minor, eur.last_month_minor, eur.year_minor) == (12000, 0, 12000)
    assert eur.sessions_this_month == 2
    assert (eur.owed_minor, eur.paid_out_minor) == (12000, 0)
    assert eur.this_month_display == "120.00 EUR"

    # The platform pays 100.00 of it out.
    run = PayoutRun.objects.create(
        brand=money.brand,
        currency="EUR",
        period_start=timezone.now().date(),
        period_end=timezone.now().date(),
    )
    line = PayoutLine.objects.create(
        run=run, profile=money.profile, amount_minor=10000, paid_at=timezone.now()
    )
    posting.post_payout(line)
    (eur,) = reports.revenue_summary(money.profile, timezone.now()).currencies
    assert (eur.owed_minor, eur.paid_out_minor) == (2000, 10000)
    assert eur.this_month_minor == 12000  # payouts move money, not earnings

    # A month on, this month's share is last month's.
    later = money.month.next().start(BERLIN) + timedelta(days=2)
    summary = reports.revenue_summary(money.profile, later)
    (eur,) = summary.currencies
    assert (eur.this_month_minor, eur.last_month_minor) == (0, 12000)
    assert eur.year_minor == (12000 if later.year == money.month.year else 0)


def test_a_specialist_with_no_payments_sees_nothing(world, money):
    other = factories.make_user("second.specialist@example.test", name="Other Specialist")
    factories.grant(other, "specialist", network=world.a.network)
    side = SimpleNamespace(brand=world.a.brand, operator=world.a.operator)
    profile, _ = approved_and_listed(side, other, [world.a.brand], name="Dr. Other")
    assert reports.transactions(profile) == []
    assert reports.revenue_summary(profile).currencies == ()
    assert reports.monthly_report(profile, money.month.year, money.month.month).rows == ()
    assert not reports.has_payments(profile) and reports.first_month(profile) is None


# --- vouchers, free sessions and Stripe Connect ---------------------------------------------------


def test_a_session_a_voucher_made_free_is_a_payment_of_zero_with_the_full_share(world, localstripe):
    brand, profile, session_type = priced(world.a)
    Voucher.objects.create(brand=brand, code="FREE", kind="percent", percent_off=100)
    _booking, payment = book_held_free(world.a, session_type, "FREE")
    (row,) = reports.transactions(profile)
    assert row.payment_id == payment.pk
    assert (row.list_minor, row.discount_minor, row.paid_minor) == (PRICE, PRICE, 0)
    assert (row.fee_minor, row.share_minor) == (1800, 7200)
    month = Month.of(row.at, BERLIN)
    (total,) = reports.monthly_report(profile, month.year, month.month).totals
    assert total.share_minor == -ledger_sums(profile, month)["share"] == 7200


def book_held_free(side: Any, session_type: Any, code: str) -> Any:
    booking, payment = checkout.do_book(
        patient=side.patient,
        brand=side.brand,
        session_type=session_type,
        start=local(11),
        voucher_code=code,
    )
    assert payment is not None and payment.status == "succeeded"
    return booking, payment


def test_stripe_connect_rows_count_the_share_not_the_transfer(world, localstripe):
    """localstripe has no Stripe Connect, so this payment is settled and refunded the way
    Stripe's answers settle them (``checkout.settle``, ``refunds.apply_refund``): the
    transfer to the specialist's account and its reversal are not share."""
    brand, profile, _session_type = priced(world.a, billing_model="specialist")
    ConnectAccount.objects.create(profile=profile, account_id="acct_test", charges_enabled=True)
    payment = Payment.objects.create(
        brand=brand,
        patient=world.a.patient,
        profile=profile,
        currency="EUR",
        list_minor=9000,
        amount_minor=9000,
        fee_minor=1800,
        share_minor=7200,
        commission_percent=20,
        billing=Billing.CONNECT,
        destination="acct_test",
    )
    with transaction.atomic():
        checkout.settle(payment, timezone.now())
    refund = Refund.objects.create(
        payment=payment, amount_minor=4500, reason=RefundReason.STAFF, note="Half"
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_minor=4500)
    refunds.apply_refund(refund, {"id": "re_test", "status": "succeeded"})

    back, paid = reports.transactions(profile)
    assert paid.billing_label == "Stripe Connect"
    assert (paid.paid_minor, paid.fee_minor, paid.share_minor) == (9000, 1800, 7200)
    assert (back.paid_minor, back.fee_minor, back.share_minor) == (-4500, -900, -3600)
    assert back.session_type == "" and back.session_start is None  # no booking
    # The platform owes nothing: the share went to the specialist's own account.
    assert reports.owed(profile) == {}
    assert ledger.balance(Account.SPECIALIST_PAYABLE, profile_id=profile.pk) == {}
    (eur,) = reports.revenue_summary(profile).currencies
    assert (eur.this_month_minor, eur.owed_minor) == (3600, 0)


# --- CSV and PDF ---------------------------------------------------------------------------------


def test_the_csv_has_translated_headers_rows_and_a_total(money):
    report = reports.monthly_report(money.profile, money.month.year, money.month.month)
    rows = list(csv.reader(io.StringIO(reports.report_csv(report))))
    assert rows[0] == [
        "Date",
        "Type",
        "Site",
        "Receipt number",
        "Session date",
        "Session type",
        "Patient",
        "Billing",
        "Currency",
        "List price",
        "Voucher discount",
        "Paid by the patient",
        "Platform fee",
        "Your share",
    ]
    body, total = rows[1:-1], rows[-1]
    assert [r[1] for r in body] == ["Payment", "Payment", "Refund"]
    assert body[0][2:4] == ["Brand A", money.first.receipt_number]
    assert body[0][5:9] == ["Session", "Jürgen Müller", "Platform", "EUR"]
    assert body[0][9:] == ["90.00", "0.00", "90.00", "18.00", "72.00"]
    assert body[1][9:] == ["90.00", "45.00", "45.00", "18.00", "72.00"]
    assert body[2][9:] == ["-30.00", "0.00", "-30.00", "-6.00", "-24.00"]
    local_paid = money.first.succeeded_at.astimezone(BERLIN)
    assert body[0][0] == local_paid.strftime("%Y-%m-%d %H:%M")
    assert total[0] == "Total" and total[8] == "EUR"
    assert total[9:] == ["150.00", "45.00", "105.00", "30.00", "120.00"]


def test_csv_amounts_keep_a_dot_in_every_language_and_cells_cannot_be_formulas(money, world):
    world.a.patient.name = "=HYPERLINK(1)"
    world.a.patient.save(update_fields=["name"])
    report = reports.monthly_report(money.profile, money.month.year, money.month.month)
    with translation.override("de"):
        rows = list(csv.reader(io.StringIO(reports.report_csv(report))))
    assert rows[1][9] == "90.00"
    assert rows[1][6] == "'=HYPERLINK(1)"


def test_the_pdf_names_the_specialist_the_period_and_the_totals(money):
    # A receipt number as long as a production database's ids make it (brand 12345,
    # payment 1234567) stays on one line of its cell.
    long_number = "12345-2026-1234567"
    Payment.objects.filter(pk=money.first.pk).update(receipt_number=long_number)
    money.first.refresh_from_db()
    report = reports.monthly_report(money.profile, money.month.year, money.month.month)
    data = reports.report_pdf(report)
    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data  # DejaVu Sans embedded (Debian's fonts-dejavu-core)
    text = pdf_text(data)
    assert f"Sales report {money.month.label}" in text
    assert "Specialist: Dr. Listed" in text
    assert "(times in Europe/Berlin)" in text
    assert "Jürgen Müller" in text
    assert money.first.receipt_number in text
    assert "Total EUR" in text
    assert "120.00 EUR" in text and "-24.00 EUR" in text
    assert f"Your share in {money.month.label}: 120.00 EUR" in text
    assert "2 payments, 1 refund; paid by patients 105.00 EUR" in text


def test_the_pdf_falls_back_to_a_core_font_and_latin1(money, world, monkeypatch, tmp_path):
    monkeypatch.setattr(reports, "FONT_DIR", tmp_path)  # no DejaVu here
    world.a.patient.name = "Łucja Müller \u2013 €"
    world.a.patient.save(update_fields=["name"])
    report = reports.monthly_report(money.profile, money.month.year, money.month.month)
    data = reports.report_pdf(report)
    assert data.startswith(b"%PDF-") and b"/FontFile2" not in data
    assert b"/Helvetica" in data
    text = pdf_text(data)
    assert "Lucja Müller - EUR" in text
    assert "Total EUR" in text and "120.00 EUR" in text


def test_latin1_keeps_what_latin1_has():
    assert reports.latin1("Müller € Łódź “x” …") == 'Müller EUR Lódz "x" ...'
    assert reports.latin1("日本") == "??"


def test_months():
    march = Month(2025, 3)
    assert (march.previous(), march.next()) == (Month(2025, 2), Month(2025, 4))
    assert Month(2025, 1).previous() == Month(2024, 12)
    assert Month(2024, 12).next() == Month(2025, 1)
    assert Month.parse("2025-03") == march and march.key == "2025-03"
    with translation.override("en"):
        assert march.label == "March 2025"
    for bad in ("2025-3", "2025-13", "25-03", "x", "2025-00"):
        with pytest.raises(ValueError):
            Month.parse(bad)
    since, until = march.bounds(BERLIN)
    assert since.utcoffset() == timedelta(hours=1) and until.utcoffset() == timedelta(hours=2)
