"""The patient's payments in Chromium: the history page (a payment, a partial refund, the
totals) and its receipt download, the booking page's payment section for a paid session
and for one waiting for payment; desktop and phone screenshots of each."""

from __future__ import annotations

import os
from datetime import time, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, Page, expect

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.payments import checkout
from caredoor.core.payments.models import RefundReason
from caredoor.core.payments.refunds import do_refund
from caredoor.core.scheduling.models import AvailabilityRule
from tests import factories
from tests.booking_helpers import make_type
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, BrandWorld, Site
from tests.e2e.test_portals import sign_in
from tests.pdf_text import pdf_text
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR") or SCREENSHOTS)


@pytest.fixture
def money(brand_world: BrandWorld, localstripe):  # type: ignore[no-untyped-def]
    """Lakeside takes payments; its patient paid one session (a partial refund since) and
    holds another that waits for payment."""
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
    patient = site.people["patient"]
    patient.name = "Anna Müller"
    patient.save()
    slots = next_free_slots(session_type, limit=40)
    first = slots[0]
    second = next(s for s in slots if s.start >= first.start + timedelta(hours=2))
    paid_booking, payment = checkout.do_book(
        patient=patient, brand=brand, session_type=session_type, start=first.start
    )
    assert payment is not None
    payment = checkout.do_attempt(payment, localstripe.card(), actor=patient)
    assert payment.is_paid
    do_refund(payment, 2500, reason=RefundReason.STAFF, note="Goodwill", actor=operator)
    held, _open = checkout.do_book(
        patient=patient, brand=brand, session_type=session_type, start=second.start
    )
    return SimpleNamespace(site=site, paid=paid_booking, payment=payment, held=held)


def open_as_patient(browser: Browser, site: Site, base: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/")
    sign_in(page, base, site.people["patient"].email)
    return page


def fits(page: Page, viewport: dict[str, int]) -> None:
    width = page.evaluate("document.querySelector('main').scrollWidth")
    assert width <= viewport["width"], width


def test_the_history_page_and_the_receipt(money, live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = money.site.base(live_server)
    number = money.payment.receipt_number
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_as_patient(browser, money.site, base, viewport)
        problems: list[str] = []
        page.on("pageerror", lambda exc, problems=problems: problems.append(str(exc)))
        page.goto(f"{base}/payments/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
        nav = page.locator(".site-nav")
        expect(nav.get_by_role("link", name="Payments")).to_have_attribute("aria-current", "page")
        rows = page.locator(".pay-history tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("-25.00 EUR")
        expect(rows.nth(0)).to_contain_text("Refunded")
        expect(rows.nth(1)).to_contain_text("90.00 EUR")
        expect(rows.nth(1)).to_contain_text("Partly refunded")
        expect(rows.nth(1)).to_contain_text("Dr. Lena Vogt")
        expect(page.locator(".pay-totals")).to_contain_text("65.00 EUR")
        fits(page, viewport)
        page.screenshot(path=SHOTS / f"patient-payments-{name}.png", full_page=True)

        with page.expect_download() as download_info:
            rows.nth(1).get_by_role("link", name="Download receipt (PDF)").click()
        download = download_info.value
        assert download.suggested_filename == f"receipt-{number}.pdf"
        text = pdf_text(Path(download.path()).read_bytes())
        assert number in text and "Anna Müller" in text and "65.00 EUR" in text

        # The session link leads to the booking page.
        rows.nth(1).get_by_role("link", name="Therapy session", exact=False).click()
        page.wait_for_url(f"{base}/sessions/{money.paid.pk}/")
        assert problems == []
        page.context.close()


def test_the_booking_pages_payment_section(money, live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = money.site.base(live_server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_as_patient(browser, money.site, base, viewport)
        page.goto(f"{base}/sessions/{money.paid.pk}/")
        section = page.locator("section.booking-payment")
        expect(section.get_by_role("heading", level=2)).to_have_text("Payment")
        expect(section).to_contain_text("90.00 EUR")
        expect(section).to_contain_text("Partly refunded")
        expect(section).to_contain_text("-25.00 EUR")
        expect(section).to_contain_text("65.00 EUR")
        expect(section.get_by_role("link", name="Download receipt (PDF)")).to_have_attribute(
            "href", f"/payments/{money.payment.pk}/receipt.pdf"
        )
        fits(page, viewport)
        section.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"patient-booking-paid-{name}.png", full_page=True)
        section.screenshot(path=SHOTS / f"patient-booking-paid-section-{name}.png")

        page.goto(f"{base}/sessions/{money.held.pk}/")
        section = page.locator("section.booking-payment")
        expect(section).to_contain_text("Payment due by")
        expect(section).to_contain_text("90.00 EUR")
        pay = section.get_by_role("link", name="Pay now")
        expect(pay).to_have_attribute("href", f"/sessions/{money.held.pk}/pay/")
        fits(page, viewport)
        page.screenshot(path=SHOTS / f"patient-booking-due-{name}.png", full_page=True)
        section.screenshot(path=SHOTS / f"patient-booking-due-section-{name}.png")
        page.context.close()


def test_the_empty_history(brand_world: BrandWorld, live_server, browser: Browser) -> None:
    site = brand_world.sites["lakeside"]
    site.brand.modules = [*site.brand.modules, "payments"]
    site.brand.save()
    base = site.base(live_server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_as_patient(browser, site, base, viewport)
        page.goto(f"{base}/payments/")
        expect(page.get_by_role("heading", level=2)).to_have_text("No payments yet")
        fits(page, viewport)
        page.screenshot(path=SHOTS / f"patient-payments-empty-{name}.png", full_page=True)
        page.context.close()
