"""Packages of sessions in Chromium: from the confirm page to the specialist's packages,
buying one and paying on its pay page (checkout.js with localstripe's Stripe.js, the real
Stripe code path), then a session paid from the package ("session 1 of 3") booked at
once. Screenshots of the packages page and the package's pay page, desktop and phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments.models import PackageOffer, PackagePurchase, PackageStatus
from caredoor.portals.patient.booking_display import slot_value
from tests.e2e.conftest import DESKTOP, PHONE, Site
from tests.e2e.test_checkout import (  # noqa: F401 (fixtures)
    SHOTS,
    fill_card,
    lakeside,
    session_type,
    stripe_page,
)
from tests.e2e.test_portals import sign_in
from tests.stripe_server import CARD_OK

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def offer(site: Site, kind) -> PackageOffer:  # type: ignore[no-untyped-def]
    return PackageOffer.objects.create(
        brand=site.brand,
        profile_id=kind.profile_id,
        name="Three sessions",
        sessions=3,
        price_minor=25000,
        currency=site.brand.currency,
    )


def test_a_patient_buys_a_package_and_books_from_it(
    lakeside: Site,  # noqa: F811
    session_type,  # noqa: F811
    live_server,
    page: Page,
    stripe_page,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    offer(lakeside, session_type)
    PackageOffer.objects.create(
        brand=lakeside.brand,
        profile_id=session_type.profile_id,
        name="Ten sessions",
        sessions=10,
        price_minor=75000,
        currency=lakeside.brand.currency,
        valid_days=730,
    )
    base = lakeside.base(live_server)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    start = next_free_slots(session_type, limit=1)[0].start
    page.goto(f"{base}/")
    sign_in(page, base, lakeside.people["patient"].email)
    confirm = (
        f"{base}/specialists/{session_type.profile_id}/book/confirm/"
        f"?type={session_type.pk}&start={slot_value(start)}"
    )
    page.goto(confirm)
    page.get_by_role("link", name=re.compile("packages on offer")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Packages with Dr. Lena Vogt")
    page.screenshot(path=SHOTS / "packages-offers-desktop.png", full_page=True)

    page.get_by_role("button", name=re.compile(r"^Buy for 250\.00 EUR")).click()
    page.wait_for_url(re.compile(r"/packages/\d+/pay/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay for your package")
    expect(page.locator("#card-element input")).to_have_count(5)
    page.screenshot(path=SHOTS / "packages-pay-desktop.png", full_page=True)
    fill_card(page, CARD_OK)
    page.get_by_role("button", name=re.compile(r"^Pay 250\.00")).click()
    page.wait_for_url(f"{base}/specialists/{session_type.profile_id}/packages/")
    assert PackagePurchase.objects.get().status == PackageStatus.ACTIVE
    expect(page.locator(".pk-card").first).to_contain_text("3 of 3")
    page.screenshot(path=SHOTS / "packages-mine-desktop.png", full_page=True)

    page.goto(confirm)
    expect(page.locator(".price-table")).to_contain_text("Paid from your package (session 1 of 3)")
    page.screenshot(path=SHOTS / "packages-confirm-desktop.png", full_page=True)
    page.get_by_role("button", name="Book this session").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    assert Booking.objects.get().status == BookingStatus.CONFIRMED
    assert problems == []


def test_the_package_pages_on_a_phone(
    lakeside: Site,  # noqa: F811
    session_type,  # noqa: F811
    live_server,
    browser,
    stripe_page,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    from caredoor.core.payments import packages

    SHOTS.mkdir(parents=True, exist_ok=True)
    bought = packages.do_buy(
        offer(lakeside, session_type), patient=lakeside.people["patient"], brand=lakeside.brand
    )
    base = lakeside.base(live_server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, locale="en-GB")
        page = context.new_page()
        page.goto(f"{base}/")
        sign_in(page, base, lakeside.people["patient"].email)
        for shot, url in (
            ("list", f"/specialists/{session_type.profile_id}/packages/"),
            ("pay", f"/packages/{bought.pk}/pay/"),
        ):
            page.goto(f"{base}{url}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            width = page.evaluate("document.querySelector('main').scrollWidth")
            assert width <= viewport["width"]
            page.screenshot(path=SHOTS / f"packages-{shot}-{name}.png", full_page=True)
        context.close()
