"""The operator's money pages: finances (figures, payments, one payment, staff refunds),
payout runs and vouchers, with real payments through localstripe. Money belongs to the
network's operator organization: a clinic's finance person or admin gets 404, people
without a role in the portal the 403 page, and no forbidden write changes anything."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments import brand_finances, ledger, payouts, refunds, vouchers
from caredoor.core.payments.models import (
    Account,
    Payment,
    PayoutLine,
    PayoutRun,
    Refund,
    RefundStatus,
    Voucher,
)
from tests.conftest import ROLES
from tests.org_money_helpers import Clock, finance_of_operator, moved_clock, paid, second_specialist
from tests.payments_helpers import PRICE, priced

pytestmark = pytest.mark.django_db

SHARE = 7200
BERLIN = ZoneInfo("Europe/Berlin")
FEE = PRICE - SHARE


@pytest.fixture
def clock(monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    return moved_clock(monkeypatch)


@dataclass
class Money:
    brand: Any
    profile: Any
    other: Any
    payment: Any
    second: Any
    run: Any
    line: Any
    voucher: Any
    finance: Any  # a finance person of the operator organization
    b_payment: Any


@pytest.fixture
def money(world, localstripe, clock) -> Money:  # type: ignore[no-untyped-def]
    """On Brand A: two paid sessions of Dr. Listed (one with a 10 % voucher), one of
    Dr. Second; a payout run of yesterday with their lines unpaid; an active voucher. On
    Brand B: one paid session."""
    brand, profile, session_type = priced(world.a)
    other, other_type = second_specialist(world.a)
    voucher = vouchers.do_create_voucher(
        brand, {"code": "TEN", "kind": "percent", "percent_off": 10}, world.a.operator
    )
    payment = paid(world.a, session_type, localstripe, hour=10)
    second = paid(world.a, session_type, localstripe, hour=12, voucher="TEN")
    paid(world.a, other_type, localstripe, hour=14)
    _b_brand, _b_profile, b_type = priced(world.b)
    b_payment = paid(world.b, b_type, localstripe)
    clock.advance(days=1)
    yesterday = clock.today(brand) - timedelta(days=1)
    run = payouts.do_create_payout_run(
        brand, "EUR", yesterday - timedelta(days=6), yesterday, world.a.operator
    )
    return Money(
        brand=brand,
        profile=profile,
        other=other,
        payment=payment,
        second=second,
        run=run,
        line=run.lines.get(profile=profile),
        voucher=voucher,
        finance=finance_of_operator(world.a),
        b_payment=b_payment,
    )


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# --- finances -------------------------------------------------------------------------------


def test_the_overview_shows_the_brands_figures_and_payments(world, client_for, money):
    response = client_for(money.finance, world.a.brand).get("/org/finances/?period=all")
    assert response.status_code == 200
    page = body(response)
    gross = 2 * PRICE + PRICE - PRICE // 10
    assert "Paid by patients" in page and f"{gross / 100:,.2f} EUR" in page
    assert "Voucher discounts" in page and "9.00 EUR" in page
    assert "Platform fees" in page and f"{3 * FEE / 100:,.2f} EUR" in page
    assert "Owed to specialists" in page and f"{3 * SHARE / 100:,.2f} EUR" in page
    assert "Cash at the payment provider" in page
    for payment in (money.payment, money.second):
        assert payment.receipt_number in page
        assert f"/org/finances/payments/{payment.pk}/" in page
    assert "Dr. Second" in page
    # Another network's money never shows.
    assert money.b_payment.receipt_number not in page and "Brand B" not in page
    assert 'aria-current="page"' in page and ">Finances<" in page


def test_the_figures_follow_refunds_and_payouts(world, money):
    refunds.do_refund(money.payment, 2500, reason="staff", note="cut short", actor=world.a.operator)
    payouts.do_mark_paid(money.line, "SEPA-1", world.a.operator)
    figures = brand_finances.figures(money.brand, "EUR")
    gross = 3 * PRICE - PRICE // 10
    assert figures.gross_minor == gross and figures.payments == 3
    assert figures.discounts_minor == PRICE // 10
    assert (figures.refunds, figures.refunds_minor) == (1, 2500)
    refunded_fee = 2500 * FEE // PRICE  # 500: the refund's share of the fee
    assert figures.fees_minor == 3 * FEE - refunded_fee
    assert figures.paid_out_minor == money.line.amount_minor == 2 * SHARE
    assert figures.owed_minor == 3 * SHARE - 2 * SHARE - (2500 - refunded_fee)
    assert figures.cash_minor == gross - 2500 - 2 * SHARE
    assert figures.cash_minor == ledger.balance(Account.CASH, brand=money.brand)["EUR"]
    # A month is read in the brand's zone: the payments whose time falls inside it.
    day = money.payment.succeeded_at.astimezone(BERLIN).date()
    since, until = brand_finances.month_bounds(money.brand, day)
    assert since.isoformat().startswith(day.strftime("%Y-%m-01T00:00:00+0"))
    inside = [
        p.amount_minor
        for p in Payment.objects.filter(brand=money.brand, status="succeeded")
        if since <= p.succeeded_at < until
    ]
    assert brand_finances.figures(money.brand, "EUR", since, until).gross_minor == sum(inside)
    assert brand_finances.figures(money.brand, "EUR", until).gross_minor == gross - sum(inside)


def test_the_month_filter_and_a_bad_value_fall_back_to_the_latest_month(world, client_for, money):
    client = client_for(world.a.operator, world.a.brand)
    month = money.payment.succeeded_at.astimezone(BERLIN).strftime("%Y-%m")
    this = body(client.get(f"/org/finances/?period={month}"))
    assert money.payment.receipt_number in this
    other = body(client.get("/org/finances/?period=1999-01&currency=XXX"))
    assert 'value="all"' in other  # the choices are there; the bad ones are ignored
    assert client.get("/org/finances/?page=99").status_code == 200


def test_the_brand_is_chosen_among_the_networks_brands(world, client_for, money):
    client = client_for(world.a.operator, world.a.brand)
    sister = body(client.get(f"/org/finances/?brand={world.a.sister.pk}&period=all"))
    assert "The money of Sister A" in sister
    assert money.payment.receipt_number not in sister
    assert client.get(f"/org/finances/?brand={world.b.brand.pk}").status_code == 404
    assert client.get("/org/finances/?brand=abc").status_code == 404
    # The operator console on the platform host has no brand: the first one is shown.
    console = client_for(world.a.operator, None, host="localhost")
    response = console.get("/org/finances/?period=all")
    assert response.status_code == 200
    assert "The money of Brand A" in body(response)
    assert console.get(f"/org/finances/payments/{money.payment.pk}/").status_code == 200


def test_a_payment_shows_its_quote_ledger_and_refund_form(world, client_for, money):
    page = body(
        client_for(money.finance, world.a.brand).get(f"/org/finances/payments/{money.second.pk}/")
    )
    assert money.second.receipt_number in page
    assert "Voucher TEN" in page and "-9.00 EUR" in page
    assert "Money at the payment provider" in page and "Owed to specialists" in page
    assert "Platform fee (20 % of the list price 90.00 EUR)" in page
    assert 'name="amount"' in page and 'name="note"' in page
    assert 'value="81.00"' in page  # what is left to refund


def test_staff_refund_in_major_units(world, client_for, money):
    client = client_for(money.finance, world.a.brand)
    url = f"/org/finances/payments/{money.payment.pk}/refund/"
    response = client.post(url, {"amount": "25.00", "note": "Session cut short"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/org/finances/payments/{money.payment.pk}/"
    assert "25.00 EUR was refunded." in body(response)
    refund = Refund.objects.get(payment=money.payment)
    assert (refund.amount_minor, refund.reason, refund.status) == (2500, "staff", "succeeded")
    assert refund.note == "Session cut short" and refund.created_by == money.finance
    assert AuditEvent.objects.filter(action="payment.refund", actor=money.finance).count() == 1
    assert 'value="65.00"' in body(response)  # the rest
    # A decimal comma is read too.
    client.post(url, {"amount": "5,5", "note": "Goodwill"})
    assert Refund.objects.filter(payment=money.payment).count() == 2
    assert Payment.objects.get(pk=money.payment.pk).refunded_minor == 3050


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "", "note": "x"}, "Enter an amount."),
        ({"amount": "abc", "note": "x"}, "Enter an amount as a number, for example 25.00."),
        ({"amount": "25.001", "note": "x"}, "EUR amounts have at most 2 decimal places."),
        ({"amount": "0", "note": "x"}, "Enter an amount above zero."),
        ({"amount": "-5", "note": "x"}, "Enter an amount above zero."),
        ({"amount": "90.01", "note": "x"}, "That is more than is left to refund (90.00 EUR)."),
        ({"amount": "10", "note": "   "}, "Say why you are refunding."),
        ({"amount": "NaN", "note": "x"}, "Enter an amount as a number"),
    ],
)
def test_bad_refunds_are_refused_and_change_nothing(world, client_for, money, data, message):
    events = AuditEvent.objects.count()
    response = client_for(world.a.operator, world.a.brand).post(
        f"/org/finances/payments/{money.payment.pk}/refund/", data
    )
    assert response.status_code == 400
    assert message in body(response)
    assert "Nothing was saved" in body(response)
    assert not Refund.objects.exists()
    assert Payment.objects.get(pk=money.payment.pk).refunded_minor == 0
    assert AuditEvent.objects.count() == events


def test_pending_and_failed_refunds_show_stripes_state(world, client_for, money, settings):
    good = settings.PAYMENTS
    settings.PAYMENTS = {**good, "api_base": "http://127.0.0.1:9"}  # Stripe unreachable
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(
        f"/org/finances/payments/{money.payment.pk}/refund/",
        {"amount": "10", "note": "Goodwill"},
        follow=True,
    )
    settings.PAYMENTS = good
    page = body(response)
    assert "shows as pending until Stripe confirms it" in page
    assert "Waiting for Stripe to confirm it." in page
    pending = Refund.objects.get()
    assert pending.status == RefundStatus.PENDING
    overview = body(client.get("/org/finances/?period=all"))
    assert "1 refund (10.00 EUR) is waiting for Stripe to confirm it" in overview
    assert "Refund pending" in overview

    refunds.apply_refund(pending, {"id": "re_failed", "status": "failed"})
    page = body(client.get(f"/org/finances/payments/{money.payment.pk}/"))
    assert "Stripe did not refund it; nothing was given back." in page
    assert 'value="90.00"' in page  # the amount can be refunded again
    assert "Stripe failed 1 refund in this period" in body(client.get("/org/finances/?period=all"))


def test_a_fully_refunded_payment_offers_no_form(world, client_for, money):
    refunds.do_refund(money.payment, PRICE, reason="staff", note="all", actor=world.a.operator)
    page = body(
        client_for(world.a.operator, world.a.brand).get(
            f"/org/finances/payments/{money.payment.pk}/"
        )
    )
    assert "Nothing is left to refund." in page and 'name="amount"' not in page
    response = client_for(world.a.operator, world.a.brand).post(
        f"/org/finances/payments/{money.payment.pk}/refund/", {"amount": "1", "note": "x"}
    )
    assert response.status_code == 400
    assert Refund.objects.count() == 1


# --- payouts --------------------------------------------------------------------------------


def test_the_payouts_page_lists_runs_and_proposes_the_next_period(world, client_for, money, clock):
    client = client_for(money.finance, world.a.brand)
    page = body(client.get("/org/payouts/"))
    assert "0 of 2 paid" in page and f"/org/payouts/{money.run.pk}/" in page
    assert f"{3 * SHARE / 100:,.2f} EUR" in page
    assert 'type="date"' in page and 'name="period_start"' in page

    clock.advance(days=2)
    start = money.run.period_end + timedelta(days=1)
    end = clock.today(world.a.brand) - timedelta(days=1)
    page = body(client.get("/org/payouts/"))
    assert f'value="{start.isoformat()}"' in page and f'value="{end.isoformat()}"' in page
    # Nothing was paid since: a run for that period has nobody to pay.
    response = client.post(
        f"/org/payouts/brands/{world.a.brand.pk}/new/",
        {"period_start": start.isoformat(), "period_end": end.isoformat(), "currency": "EUR"},
    )
    assert response.status_code == 400
    assert "No specialist is owed anything in EUR" in body(response)
    assert PayoutRun.objects.count() == 1


def test_a_new_run_from_the_page(world, client_for, localstripe, clock):
    brand, _profile, session_type = priced(world.a)
    paid(world.a, session_type, localstripe)
    clock.advance(days=1)
    yesterday = clock.today(brand) - timedelta(days=1)
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(
        f"/org/payouts/brands/{brand.pk}/new/",
        {
            "period_start": (yesterday - timedelta(days=3)).isoformat(),
            "period_end": yesterday.isoformat(),
            "currency": "EUR",
        },
        follow=True,
    )
    run = PayoutRun.objects.get()
    assert response.redirect_chain[-1][0] == f"/org/payouts/{run.pk}/"
    page = body(response)
    assert "The payout run for" in page and "72.00 EUR" in page and "Mark paid" in page
    assert run.created_by == world.a.operator
    assert AuditEvent.objects.filter(action="payout.run_created", actor_role="operator").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"period_start": "", "period_end": "2020-01-01"}, "This field is required."),
        ({"period_start": "2020-02-01", "period_end": "2020-01-01"}, "must end on or after"),
        ({"period_start": "2020-01-01", "period_end": "2999-01-01"}, "choose an end before today"),
        (
            {"period_start": "2020-01-01", "period_end": "2020-01-31", "currency": "XXX"},
            "Select a valid choice",
        ),
    ],
)
def test_bad_runs_are_refused_and_write_nothing(world, client_for, money, data, message):
    events = AuditEvent.objects.count()
    response = client_for(world.a.operator, world.a.brand).post(
        f"/org/payouts/brands/{world.a.brand.pk}/new/", {"currency": "EUR", **data}
    )
    assert response.status_code == 400
    assert message in body(response)
    assert PayoutRun.objects.count() == 1 and AuditEvent.objects.count() == events


def test_an_overlapping_run_is_refused(world, client_for, money):
    response = client_for(world.a.operator, world.a.brand).post(
        f"/org/payouts/brands/{world.a.brand.pk}/new/",
        {
            "period_start": money.run.period_start.isoformat(),
            "period_end": money.run.period_end.isoformat(),
            "currency": "EUR",
        },
    )
    assert response.status_code == 400
    assert "This period overlaps the run of" in body(response)
    assert PayoutRun.objects.count() == 1


def test_mark_paid_from_the_run_page(world, client_for, money):
    client = client_for(money.finance, world.a.brand)
    url = f"/org/payouts/{money.run.pk}/"
    page = body(client.get(url))
    assert "Dr. Listed" in page and "Dr. Second" in page
    assert f'for="id_line-{money.line.pk}-reference"' in page
    assert "Payment reference for Dr. Listed" in page

    empty = client.post(
        f"/org/payouts/lines/{money.line.pk}/paid/", {f"line-{money.line.pk}-reference": " "}
    )
    assert empty.status_code == 400
    assert "Enter the payment&#x27;s reference" in body(empty)
    assert PayoutLine.objects.get(pk=money.line.pk).paid_at is None

    response = client.post(
        f"/org/payouts/lines/{money.line.pk}/paid/",
        {f"line-{money.line.pk}-reference": "SEPA 0042"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url
    assert "144.00 EUR to Dr. Listed is marked paid." in body(response)
    line = PayoutLine.objects.get(pk=money.line.pk)
    assert line.reference == "SEPA 0042" and line.paid_by == money.finance
    assert (
        ledger.balance(Account.SPECIALIST_PAYABLE, brand=money.brand, profile_id=money.profile.pk)
        == {}
    )
    # Again: refused politely, nothing posted twice.
    again = client.post(
        f"/org/payouts/lines/{money.line.pk}/paid/",
        {f"line-{money.line.pk}-reference": "SEPA 0043"},
        follow=True,
    )
    assert "already marked paid (reference SEPA 0042)" in body(again)
    assert PayoutLine.objects.get(pk=money.line.pk).reference == "SEPA 0042"
    assert money.line.transactions.count() == 1


def test_the_run_exports_as_csv(world, client_for, money):
    # Dr. Listed's line stays unpaid; Dr. Second's is paid with a reference a spreadsheet
    # would run as a formula.
    other = money.run.lines.get(profile=money.other)
    payouts.do_mark_paid(other, "=HYPERLINK(1)", world.a.operator)
    response = client_for(world.a.operator, world.a.brand).get(f"/org/payouts/{money.run.pk}/csv/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Specialist", "Specialist id", "Amount", "Currency"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Dr. Listed"][2:4] == ["144.00", "EUR"] and by_name["Dr. Listed"][7] == ""
    assert by_name["Dr. Second"][7] == "'=HYPERLINK(1)"  # never a formula


# --- vouchers -------------------------------------------------------------------------------


def test_the_vouchers_page_lists_uses_and_creates_and_ends(world, client_for, money):
    client = client_for(world.a.operator, world.a.brand)
    page = body(client.get("/org/vouchers/"))
    assert "<code>TEN</code>" in page and "10 % off" in page and "Active" in page
    assert ">1<" in page.replace(" ", "").replace("\n", "")  # one use
    response = client.post(
        f"/org/vouchers/brands/{world.a.brand.pk}/new/",
        {
            "code": "summer-fix",
            "kind": "fixed",
            "amount_off": "10.50",
            "valid_from": "2030-06-01",
            "valid_until": "2030-06-30",
            "max_uses": "50",
            "max_uses_per_patient": "2",
        },
        follow=True,
    )
    assert "The voucher SUMMER-FIX was created on Brand A." in body(response)
    voucher = Voucher.objects.get(code="SUMMER-FIX")
    assert (voucher.kind, voucher.amount_off_minor, voucher.percent_off) == ("fixed", 1050, None)
    assert voucher.valid_from.astimezone(BERLIN).isoformat() == "2030-06-01T00:00:00+02:00"
    assert voucher.valid_until.astimezone(BERLIN).isoformat() == "2030-07-01T00:00:00+02:00"
    assert "Not yet valid" in body(response) and "10.50 EUR off" in body(response)

    ended = client.post(f"/org/vouchers/{money.voucher.pk}/end/", follow=True)
    assert "The voucher TEN has ended" in body(ended)
    assert not Voucher.objects.get(pk=money.voucher.pk).is_active
    twice = client.post(f"/org/vouchers/{money.voucher.pk}/end/", follow=True)
    assert "has already ended" in body(twice)
    assert AuditEvent.objects.filter(action="voucher.ended").count() == 1


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"code": "TEN"}, "This brand already has a voucher TEN."),
        ({"code": "a b"}, "Use 3 to 40 letters"),
        ({"percent_off": ""}, "Enter a percentage from 1 to 100."),
        ({"percent_off": "150"}, "Ensure this value is less than or equal to 100."),
        ({"kind": "fixed", "amount_off": "1.005"}, "EUR amounts have at most 2 decimal places."),
        ({"kind": "fixed", "amount_off": ""}, "Enter an amount."),
        (
            {"valid_from": "2030-01-02", "valid_until": "2030-01-01"},
            "The last day must be on or after",
        ),
        ({"max_uses": "1", "max_uses_per_patient": "2"}, "more often than it can be used"),
    ],
)
def test_bad_vouchers_are_refused_and_write_nothing(world, client_for, money, data, field_message):
    events = AuditEvent.objects.count()
    fields = {"code": "NEW", "kind": "percent", "percent_off": "20", "max_uses_per_patient": "1"}
    response = client_for(world.a.operator, world.a.brand).post(
        f"/org/vouchers/brands/{world.a.brand.pk}/new/", {**fields, **data}
    )
    assert response.status_code == 400
    assert field_message in body(response).replace("&#x27;", "'")
    assert Voucher.objects.count() == 1 and AuditEvent.objects.count() == events


# --- who may --------------------------------------------------------------------------------


PAGES = {
    "finances": lambda m: "/org/finances/",
    "payment": lambda m: f"/org/finances/payments/{m.payment.pk}/",
    "payouts": lambda m: "/org/payouts/",
    "run": lambda m: f"/org/payouts/{m.run.pk}/",
    "csv": lambda m: f"/org/payouts/{m.run.pk}/csv/",
    "vouchers": lambda m: "/org/vouchers/",
}
VOUCHER_PAGES = {"vouchers"}


def writes(m: Money, brand_id: int) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "refund": (
            f"/org/finances/payments/{m.payment.pk}/refund/",
            {"amount": "10.00", "note": "attack"},
        ),
        "new_run": (
            f"/org/payouts/brands/{brand_id}/new/",
            {"period_start": "2020-01-01", "period_end": "2020-01-31", "currency": "EUR"},
        ),
        "paid": (
            f"/org/payouts/lines/{m.line.pk}/paid/",
            {f"line-{m.line.pk}-reference": "attack"},
        ),
        "new_voucher": (
            f"/org/vouchers/brands/{brand_id}/new/",
            {
                "code": "ATTACK",
                "kind": "percent",
                "percent_off": "100",
                "max_uses_per_patient": "1",
            },
        ),
        "end_voucher": (f"/org/vouchers/{m.voucher.pk}/end/", {}),
    }


def state() -> tuple[Any, ...]:
    return (
        AuditEvent.objects.count(),
        Refund.objects.count(),
        PayoutRun.objects.count(),
        PayoutLine.objects.filter(paid_at__isnull=False).count(),
        Voucher.objects.count(),
        Voucher.objects.filter(is_active=False).count(),
    )


def person(world, money, who: str):  # type: ignore[no-untyped-def]
    side, _, role = who.partition(".")
    if who == "outsider":
        return world.outsider
    if who == "a.ops_finance":
        return money.finance
    return getattr(world, side).people[role]


def expected(who: str, page: str) -> int:
    """On Brand A's host."""
    if who == "a.operator":
        return 200
    if who == "a.ops_finance":
        return 404 if page in VOUCHER_PAGES or page in {"new_voucher", "end_voucher"} else 200
    if who in ("a.org_admin", "a.org_staff", "a.finance"):
        return 404  # a role in the portal, held in the clinic: no money
    return 403  # no role in the organization portal on this brand


EVERYONE = [f"a.{r}" for r in ROLES] + [f"b.{r}" for r in ROLES] + ["outsider", "a.ops_finance"]


@pytest.mark.parametrize("who", EVERYONE)
def test_every_page_answers_only_the_operator_organization(world, client_for, money, who):
    client = client_for(person(world, money, who), world.a.brand)
    for page, url in PAGES.items():
        response = client.get(url(money))
        assert response.status_code == expected(who, page), (who, page)
        if response.status_code != 200:
            assert money.payment.receipt_number not in body(response)


@pytest.mark.parametrize("who", EVERYONE)
def test_forbidden_writes_change_nothing(world, client_for, money, who):
    client = client_for(person(world, money, who), world.a.brand)
    for name, (url, data) in writes(money, world.a.brand.pk).items():
        if expected(who, name) == 200:
            continue
        before = state()
        response = client.post(url, data)
        assert response.status_code == expected(who, name), (who, name)
        assert state() == before, (who, name)


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_the_other_networks_money_people_get_404_on_their_own_host(world, client_for, money, role):
    user = world.b.operator if role == "operator" else finance_of_operator(world.b)
    client = client_for(user, world.b.brand)
    assert client.get("/org/finances/").status_code == 200  # their own brand's money
    for page in ("payment", "run", "csv"):
        assert client.get(PAGES[page](money)).status_code == 404
    assert client.get(f"/org/finances/?brand={world.a.brand.pk}").status_code == 404
    assert client.get(f"/org/payouts/?brand={world.a.brand.pk}").status_code == 404
    for name, (url, data) in writes(money, world.a.brand.pk).items():
        before = state()
        assert client.post(url, data).status_code == 404, name
        assert state() == before, name


def test_the_operator_on_the_sister_brands_host_sees_the_networks_money(world, client_for, money):
    client = client_for(world.a.operator, world.a.sister)
    page = body(client.get("/org/finances/?period=all"))
    assert "The money of Sister A" in page  # the host's brand first
    assert client.get(f"/org/finances/?brand={world.a.brand.pk}&period=all").status_code == 200
    assert client.get(PAGES["payment"](money)).status_code == 200


def test_navigation_offers_the_money_pages_by_capability(world, client_for, money):
    operator = body(client_for(world.a.operator, world.a.brand).get("/org/"))
    for label in ("Finances", "Payouts", "Vouchers"):
        assert f">{label}</a>" in operator
    finance = body(client_for(money.finance, world.a.brand).get("/org/"))
    assert ">Finances</a>" in finance and ">Payouts</a>" in finance
    assert ">Vouchers</a>" not in finance
    for clinic in (world.a.org_admin, world.a.finance):
        page = body(client_for(clinic, world.a.brand).get("/org/"))
        assert ">Finances</a>" not in page and ">Payouts</a>" not in page
