"""Paying for a session in Chromium: the confirm page's price with a voucher, the pay page
with Stripe.js -- here localstripe's stand-in, served by a real localstripe process, so the
page runs the same script and the server the same Stripe calls as in production -- a
declined card, then a good one, and the booking confirmed by the server's reading of the
payment. Then the patient cancels inside the free window and gets it all back."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments.models import Payment, PaymentStatus, Refund, Voucher
from caredoor.portals.patient.booking_display import slot_value
from tests import factories
from tests.booking_helpers import make_type
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, BrandWorld, Site, port_of
from tests.e2e.test_portals import sign_in
from tests.specialist_helpers import approved_and_listed
from tests.stripe_server import CARD_DECLINED, CARD_OK

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR") or SCREENSHOTS)


@pytest.fixture
def stripe_page(localstripe, live_server):  # type: ignore[no-untyped-def]
    """localstripe's webhooks come back to the live server (and go nowhere after the test).
    The pay page's own CSP lets it load localstripe's Stripe.js and call its API."""
    localstripe.register_webhook(f"http://localhost:{port_of(live_server)}/webhooks/stripe/")
    yield localstripe
    localstripe.register_webhook("http://127.0.0.1:9/")


@pytest.fixture
def lakeside(brand_world: BrandWorld) -> Site:
    site = brand_world.sites["lakeside"]
    brand = site.brand
    brand.modules = [*brand.modules, "payments"]
    brand.save()
    return site


@pytest.fixture
def session_type(brand_world: BrandWorld, lakeside: Site):  # type: ignore[no-untyped-def]
    from datetime import time

    from caredoor.core.scheduling.models import AvailabilityRule

    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.pay@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(brand=lakeside.brand, operator=operator)
    profile, _ = approved_and_listed(
        side, lakeside.people["specialist"], [lakeside.brand], name="Dr. Lena Vogt", price=9000
    )
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    return make_type(profile, name="Therapy session", min_notice_minutes=25 * 60)


def fill_card(page: Page, number: str) -> None:
    """localstripe's stand-in draws plain inputs where Stripe draws its card field."""
    card = page.locator("#card-element")
    for placeholder, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10115"),
    ):
        field = card.locator(f"input[placeholder={placeholder}]")
        field.fill("")
        field.type(value)


def test_a_patient_pays_with_a_card_after_a_decline_and_cancels_for_a_full_refund(
    lakeside: Site, session_type, live_server, page: Page, stripe_page
) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    Voucher.objects.create(brand=lakeside.brand, code="WELCOME10", kind="percent", percent_off=10)
    base = lakeside.base(live_server)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    start = next_free_slots(session_type, limit=1)[0].start
    page.goto(f"{base}/")
    sign_in(page, base, lakeside.people["patient"].email)
    confirm = (
        f"{base}/specialists/{session_type.profile_id}/book/confirm/"
        f"?type={session_type.pk}&start={slot_value(start)}"
    )
    page.goto(confirm)
    expect(page.locator(".price-table")).to_contain_text("90.00 EUR")
    page.get_by_label("Voucher code").fill("welcome10")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".price-table")).to_contain_text("Voucher WELCOME10")
    expect(page.locator(".price-table tfoot")).to_contain_text("81.00 EUR")
    page.screenshot(path=SHOTS / "checkout-confirm.png", full_page=True)
    page.get_by_role("button", name="Book and pay").click()

    page.wait_for_url(re.compile(r"/sessions/\d+/pay/$"))
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.PENDING_PAYMENT
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay for your session")
    expect(page.locator("#card-element input")).to_have_count(5)  # localstripe's card field
    page.screenshot(path=SHOTS / "checkout-pay.png", full_page=True)

    fill_card(page, CARD_DECLINED)
    page.get_by_role("button", name=re.compile(r"^Pay 81\.00")).click()
    expect(page.locator("#pay-status")).to_contain_text("declined")
    page.screenshot(path=SHOTS / "checkout-declined.png", full_page=True)
    assert Booking.objects.get().status == BookingStatus.PENDING_PAYMENT

    fill_card(page, CARD_OK)
    page.get_by_role("button", name=re.compile(r"^Pay 81\.00")).click()
    page.wait_for_url(f"{base}/sessions/{booking.pk}/")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_minor, payment.attempts) == (
        PaymentStatus.SUCCEEDED,
        8100,
        2,
    )

    # Cancelling inside the free window gives it all back.
    page.goto(f"{base}/sessions/{booking.pk}/cancel/")
    expect(page.locator(".cancel-refund")).to_have_text(
        "You paid 81.00 EUR; 81.00 EUR is refunded to your card."
    )
    page.get_by_role("button", name="Yes, cancel the session").click()
    expect(page.locator(".messages")).to_contain_text("81.00 EUR is refunded to your card")
    assert Refund.objects.get().amount_minor == 8100
    assert problems == []
    assert timezone.now() < booking.start


def test_the_pay_page_on_a_phone(
    lakeside: Site, session_type, live_server, browser, stripe_page
) -> None:  # type: ignore[no-untyped-def]
    from caredoor.core.payments import checkout

    SHOTS.mkdir(parents=True, exist_ok=True)
    start = next_free_slots(session_type, limit=1)[0].start
    booking, _payment = checkout.do_book(
        patient=lakeside.people["patient"],
        brand=lakeside.brand,
        session_type=session_type,
        start=start,
    )
    base = lakeside.base(live_server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{base}/")
        sign_in(page, base, lakeside.people["patient"].email)
        page.goto(f"{base}/sessions/{booking.pk}/pay/")
        expect(page.locator("#card-element input")).to_have_count(5)
        width = page.evaluate("document.querySelector('main').scrollWidth")
        assert width <= viewport["width"]
        page.screenshot(path=SHOTS / f"checkout-pay-{name}.png", full_page=True)
        context.close()
