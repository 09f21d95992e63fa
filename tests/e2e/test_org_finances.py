"""The operator's money pages in Chromium: a finance person of the operator organization
reads the brand's figures, refunds part of a payment, marks a payout paid; the operator
creates and ends a voucher. Payments are real (localstripe). Screenshots on desktop and
phone; no page is wider than a phone."""

from __future__ import annotations

import os
from datetime import time, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, Page, expect

from caredoor.core.payments import payouts, vouchers
from caredoor.core.payments.models import PayoutLine, Refund, Voucher
from caredoor.core.scheduling.models import AvailabilityRule
from tests import factories
from tests.booking_helpers import make_type
from tests.e2e.conftest import PHONE, SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in
from tests.org_money_helpers import moved_clock, paid
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR") or SCREENSHOTS)


@pytest.fixture
def money(brand_world: BrandWorld, localstripe, monkeypatch):  # type: ignore[no-untyped-def]
    """Lakeside takes payments: three paid sessions of two specialists (one with a
    voucher), a payout run of yesterday, and the operator organization's operator and
    finance person."""
    site = brand_world.sites["lakeside"]
    brand = site.brand
    brand.modules = [*brand.modules, "payments"]
    brand.save()
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-money-ops")
    operator = factories.make_user("operator.money@example.test", name="Olga Operator")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    finance = factories.make_user("finance.money@example.test", name="Fiona Finance")
    factories.grant(finance, "finance", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(
        brand=brand,
        network=brand_world.network,
        operator=operator,
        patient=site.people["patient"],
    )
    types = []
    for user, name in (
        (site.people["specialist"], "Dr. Lena Vogt"),
        (factories.make_user("second.money@example.test"), "Dr. Amir Haddad"),
    ):
        factories.grant(user, "specialist", network=brand_world.network)
        profile, _ = approved_and_listed(side, user, [brand], name=name, price=9000)
        for weekday in range(7):
            AvailabilityRule.objects.create(
                profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
            )
        types.append(make_type(profile, name="Therapy session"))
    vouchers.do_create_voucher(
        brand, {"code": "WELCOME10", "kind": "percent", "percent_off": 10}, operator
    )
    first = paid(side, types[0], localstripe, hour=10)
    paid(side, types[0], localstripe, hour=12, voucher="WELCOME10")
    paid(side, types[1], localstripe, hour=14)
    clock = moved_clock(monkeypatch)  # a day later: yesterday's payments can be paid out
    clock.advance(days=1)
    yesterday = clock.today(brand) - timedelta(days=1)
    run = payouts.do_create_payout_run(
        brand, "EUR", yesterday - timedelta(days=6), yesterday, operator
    )
    return SimpleNamespace(
        site=site, brand=brand, operator=operator, finance=finance, first=first, run=run
    )


def fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a phone"


def test_finance_reads_refunds_and_pays_out(page: Page, money, live_server):  # type: ignore[no-untyped-def]
    base = money.site.base(live_server)
    page.goto(f"{base}/org/finances/")
    sign_in(page, base, money.finance.email, totp=True)
    page.goto(f"{base}/org/finances/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finances")
    expect(page.locator(".site-nav")).to_contain_text("Payouts")
    expect(page.locator(".site-nav")).not_to_contain_text("Vouchers")
    figures = page.locator(".money-figures")
    expect(figures).to_contain_text("Paid by patients")
    expect(figures).to_contain_text("261.00 EUR")  # 90 + 81 + 90
    expect(figures).to_contain_text("216.00 EUR")  # owed: 3 x 72
    page.get_by_role("combobox", name="Period").select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".money-table tbody tr")).to_have_count(3)
    page.screenshot(path=SHOTS / "org-finances-desktop.png", full_page=True)

    page.get_by_role("link", name=money.first.receipt_number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(money.first.receipt_number)
    page.get_by_label("Amount to refund in EUR").fill("20.00")
    page.get_by_label("Reason").fill("Session started late")
    page.get_by_role("button", name="Refund").click()
    expect(page.locator(".messages")).to_contain_text("20.00 EUR was refunded.")
    expect(page.get_by_label("Amount to refund in EUR")).to_have_value("70.00")
    assert Refund.objects.get().amount_minor == 2000
    page.screenshot(path=SHOTS / "org-finance-payment-desktop.png", full_page=True)

    page.get_by_role("link", name="Payouts", exact=True).click()
    expect(page.locator(".money-table")).to_contain_text("0 of 2 paid")
    page.screenshot(path=SHOTS / "org-payouts-desktop.png", full_page=True)
    page.locator(".money-table tbody th a").first.click()
    page.get_by_label("Payment reference for Dr. Lena Vogt").fill("SEPA 2026-0042")
    page.screenshot(path=SHOTS / "org-payout-run-desktop.png", full_page=True)
    page.get_by_label("Payment reference for Dr. Lena Vogt").press("Enter")
    expect(page.locator(".messages")).to_contain_text("to Dr. Lena Vogt is marked paid.")
    expect(page.locator(".payout-lines")).to_contain_text("reference SEPA 2026-0042")
    assert PayoutLine.objects.filter(paid_at__isnull=False).count() == 1
    page.screenshot(path=SHOTS / "org-payout-run-paid-desktop.png", full_page=True)


def test_operator_creates_and_ends_a_voucher(page: Page, money, live_server):  # type: ignore[no-untyped-def]
    base = money.site.base(live_server)
    page.goto(f"{base}/org/vouchers/")
    sign_in(page, base, money.operator.email, totp=True)
    page.goto(f"{base}/org/vouchers/")
    expect(page.locator(".money-table")).to_contain_text("WELCOME10")
    page.get_by_label("Code").fill("spring-25")
    page.get_by_label("Fixed amount off").check()
    page.get_by_label("Amount off in EUR").fill("15")
    page.get_by_label("Uses in all").fill("100")
    page.get_by_role("button", name="Create voucher").click()
    expect(page.locator(".messages")).to_contain_text("The voucher SPRING-25 was created")
    expect(page.locator(".money-table")).to_contain_text("15.00 EUR off")
    page.screenshot(path=SHOTS / "org-vouchers-desktop.png", full_page=True)
    page.get_by_role("button", name="End voucher WELCOME10").click()
    expect(page.locator(".messages")).to_contain_text("The voucher WELCOME10 has ended")
    assert not Voucher.objects.get(code="WELCOME10").is_active


def test_the_money_pages_on_a_phone(browser: Browser, money, live_server):  # type: ignore[no-untyped-def]
    base = money.site.base(live_server)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{base}/org/")
        sign_in(page, base, money.operator.email, totp=True)
        for path, name in (
            ("/org/finances/?period=all", "org-finances-phone"),
            (f"/org/finances/payments/{money.first.pk}/", "org-finance-payment-phone"),
            ("/org/payouts/", "org-payouts-phone"),
            (f"/org/payouts/{money.run.pk}/", "org-payout-run-phone"),
            ("/org/vouchers/", "org-vouchers-phone"),
        ):
            page.goto(base + path)
            expect(page.locator("h1")).to_be_visible()
            fits_a_phone(page)
            page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    finally:
        context.close()
