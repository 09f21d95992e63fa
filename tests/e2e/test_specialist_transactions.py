"""The specialist's money in Chromium: the Transactions page (revenue cards, this month's
payments and a partial refund, the totals), choosing another month with the picker, the
CSV and PDF downloads, and the dashboard's "Recent transactions" card; desktop and phone
screenshots of each (``specialist-transactions-*.png``, ``specialist-dashboard-money-*``)."""

from __future__ import annotations

import csv
import io
import os
from datetime import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.payments import checkout
from caredoor.core.payments.models import RefundReason, Voucher
from caredoor.core.payments.refunds import do_refund
from caredoor.core.payments.reports import Month
from caredoor.core.scheduling.models import AvailabilityRule
from tests import factories
from tests.booking_helpers import BERLIN, make_type
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, BrandWorld, Site
from tests.e2e.test_portals import sign_in
from tests.pdf_text import pdf_text
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR") or SCREENSHOTS)


@pytest.fixture
def money(brand_world: BrandWorld, localstripe):  # type: ignore[no-untyped-def]
    """Lakeside takes payments; its specialist Dr. Lena Vogt was paid by Anna Müller twice
    (once with a 20 % voucher) and by Jonas Weber once; Anna's first payment was refunded
    25.00 since."""
    site = brand_world.sites["lakeside"]
    brand = site.brand
    brand.modules = [*brand.modules, "payments"]
    brand.save()
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.money@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(brand=brand, operator=operator)
    profile, _ = approved_and_listed(
        side, site.people["specialist"], [brand], name="Dr. Lena Vogt", price=9000
    )
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    session_type = make_type(profile, name="Therapy session", min_notice_minutes=25 * 60)
    Voucher.objects.create(brand=brand, code="SPRING20", kind="percent", percent_off=20)
    anna = site.people["patient"]
    anna.name = "Anna Müller"
    anna.save()
    jonas = factories.make_user("jonas.money@example.test", name="Jonas Weber")
    factories.grant(jonas, "patient", network=brand_world.network, brand=brand)
    slots = iter(next_free_slots(session_type, limit=60)[::4])
    payments = []
    for patient, voucher in ((anna, ""), (anna, "SPRING20"), (jonas, "")):
        _booking, payment = checkout.do_book(
            patient=patient,
            brand=brand,
            session_type=session_type,
            start=next(slots).start,
            voucher_code=voucher,
        )
        assert payment is not None
        payment = checkout.do_attempt(payment, localstripe.card(), actor=patient)
        assert payment.is_paid
        payments.append(payment)
    do_refund(payments[0], 2500, reason=RefundReason.STAFF, note="Goodwill", actor=operator)
    return SimpleNamespace(site=site, payments=payments, month=Month.of(timezone.now(), BERLIN))


def open_as_specialist(
    browser: Browser, site: Site, base: str, viewport: dict[str, int], path: str
) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}{path}")
    sign_in(page, base, site.people["specialist"].email)
    page.wait_for_url(f"{base}{path}")
    return page


def fits(page: Page, viewport: dict[str, int]) -> None:
    width = page.evaluate("document.querySelector('main').scrollWidth")
    assert width <= viewport["width"], width


def test_the_transactions_page_and_its_reports(money, live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = money.site.base(live_server)
    label = money.month.label
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_as_specialist(browser, money.site, base, viewport, "/specialist/transactions/")
        problems: list[str] = []
        page.on("pageerror", lambda exc, problems=problems: problems.append(str(exc)))
        expect(page.get_by_role("heading", level=1)).to_have_text("Transactions")
        nav = page.locator(".site-nav")
        expect(nav.get_by_role("link", name="Transactions")).to_have_attribute(
            "aria-current", "page"
        )
        cards = page.locator(".money-glance__cards > li")
        expect(cards).to_have_count(4)
        # 3 x 72.00 share, less 20.00 taken back with the 25.00 refund.
        expect(cards.nth(0)).to_contain_text(f"Your share in {label}")
        expect(cards.nth(0)).to_contain_text("196.00 EUR")
        expect(cards.nth(0)).to_contain_text("3 paid sessions")
        expect(cards.nth(3)).to_contain_text("Owed to you by the platform")
        expect(cards.nth(3)).to_contain_text("196.00 EUR")
        rows = page.locator(".tx-table tbody tr")
        expect(rows).to_have_count(4)
        expect(rows.nth(0)).to_contain_text("Refund")
        expect(rows.nth(0)).to_contain_text("-25.00 EUR")
        expect(rows.nth(0)).to_contain_text("-20.00 EUR")
        expect(rows.nth(1)).to_contain_text("Jonas Weber")
        expect(rows.nth(2)).to_contain_text("18.00 EUR")  # the voucher's discount
        expect(rows.nth(2)).to_contain_text("72.00 EUR")  # and the share stays whole
        expect(page.locator(".tx-table tfoot")).to_contain_text("196.00 EUR")
        fits(page, viewport)
        # The whole table is in view: no column scrolled off to the side.
        wrap = page.locator(".tx-table").locator("xpath=..")
        assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
        page.screenshot(path=SHOTS / f"specialist-transactions-{name}.png", full_page=True)

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download CSV").click()
        download = download_info.value
        assert download.suggested_filename == f"sales-{money.month.key}.csv"
        table = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8-sig"))))
        assert len(table) == 1 + 4 + 1
        assert table[-1][0] == "Total" and table[-1][-1] == "196.00"
        assert {row[6] for row in table[1:-1]} == {"Anna Müller", "Jonas Weber"}

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download PDF").click()
        download = download_info.value
        assert download.suggested_filename == f"sales-{money.month.key}.pdf"
        text = pdf_text(Path(download.path()).read_bytes())
        assert "Anna Müller" in text and f"Your share in {label}: 196.00 EUR" in text

        # Another month, chosen with the picker: nothing then, and it says so.
        previous = money.month.previous()
        page.get_by_label("Month", exact=True).select_option(previous.key)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**month={previous.key}**")
        expect(page.get_by_role("heading", name=previous.label)).to_be_visible()
        expect(page.locator(".tx-empty")).to_have_text("No payments or refunds in this month.")
        expect(page.get_by_role("link", name=f"{label}")).to_be_visible()
        fits(page, viewport)
        page.screenshot(path=SHOTS / f"specialist-transactions-empty-{name}.png", full_page=True)
        assert problems == []
        page.context.close()


def test_the_dashboard_card(money, live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    base = money.site.base(live_server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_as_specialist(browser, money.site, base, viewport, "/specialist/")
        card = page.locator(".dash-money")
        expect(card.get_by_role("heading", name="Recent transactions")).to_be_visible()
        expect(card.locator("li")).to_have_count(4)
        expect(card.locator("li").first).to_contain_text("-20.00 EUR")
        fits(page, viewport)
        card.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"specialist-dashboard-money-{name}.png", full_page=True)
        card.get_by_role("link", name="All transactions and sales reports").click()
        page.wait_for_url(f"{base}/specialist/transactions/")
        page.context.close()
