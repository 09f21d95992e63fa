"""The Packages page in Chromium: a finance person of the operator organization creates a
package offer (one mistake first, named on its field), sees it listed with its price per
session, edits its validity and retires it; the patient's packages page offers it while
it is on sale. Screenshots on desktop and phone; no page is wider than a phone."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from caredoor.core.payments.models import PackageOffer
from tests import factories
from tests.e2e.conftest import PHONE, SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR") or SCREENSHOTS)


@pytest.fixture
def shop(brand_world: BrandWorld):  # type: ignore[no-untyped-def]
    """Lakeside takes payments; Dr. Lena Vogt is listed (platform billing); the operator
    organization has a finance person."""
    site = brand_world.sites["lakeside"]
    brand = site.brand
    brand.modules = [*brand.modules, "payments"]
    brand.save()
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-pk-ops")
    operator = factories.make_user("operator.pk@example.test", name="Olga Operator")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    finance = factories.make_user("finance.pk@example.test", name="Fiona Finance")
    factories.grant(finance, "finance", network=brand_world.network, organization=operator_org)
    specialist = site.people["specialist"]
    factories.grant(specialist, "specialist", network=brand_world.network)
    side = SimpleNamespace(brand=brand, network=brand_world.network, operator=operator)
    profile, _ = approved_and_listed(side, specialist, [brand], name="Dr. Lena Vogt", price=9000)
    PackageOffer.objects.create(
        brand=brand,
        profile=profile,
        name="Three sessions",
        sessions=3,
        price_minor=25000,
        currency=brand.currency,
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(site=site, brand=brand, finance=finance, profile=profile)


def new_offer_form(page: Page) -> Locator:
    return page.locator("form", has=page.get_by_role("button", name="Create package offer"))


def fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a phone"


def test_finance_creates_edits_and_retires_an_offer(page: Page, shop, live_server):  # type: ignore[no-untyped-def]
    base = shop.site.base(live_server)
    page.goto(f"{base}/org/packages/")
    sign_in(page, base, shop.finance.email, totp=True)
    page.goto(f"{base}/org/")
    page.locator(".site-nav").get_by_role("link", name="Packages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Packages")
    table = page.locator(".money-table")
    expect(table).to_contain_text("Three sessions")
    new = new_offer_form(page)

    new.get_by_label("Specialist").select_option(label="Dr. Lena Vogt")
    new.get_by_label("Name").fill("Five sessions")
    new.get_by_label("Sessions").fill("1")
    new.get_by_label("Price in EUR").fill("400.005")
    new.get_by_role("button", name="Create package offer").click()
    errors = page.locator(".form-errors")
    expect(errors).to_contain_text("Nothing was saved")
    expect(page.locator("#id_sessions_error")).to_have_text("A package has 2 to 50 sessions.")
    expect(page.locator("#id_price_error")).to_have_text(
        "EUR amounts have at most 2 decimal places."
    )
    page.screenshot(path=SHOTS / "org-packages-errors-desktop.png", full_page=True)
    assert not PackageOffer.objects.filter(name="Five sessions").exists()

    new.get_by_label("Sessions").fill("5")
    new.get_by_label("Price in EUR").fill("400")
    new.get_by_label("Valid for (days)").fill("180")
    new.get_by_role("button", name="Create package offer").click()
    expect(page.locator(".messages")).to_contain_text(
        "The package offer “Five sessions” was created on Lakeside Care."
    )
    row = table.locator("tr", has_text="Five sessions")
    expect(row).to_contain_text("400.00 EUR")
    expect(row).to_contain_text("80.00 EUR a session")
    expect(row).to_contain_text("180 days")
    expect(row).to_contain_text("On sale")
    offer = PackageOffer.objects.get(name="Five sessions")
    assert (offer.sessions, offer.price_minor, offer.valid_days) == (5, 40000, 180)
    page.screenshot(path=SHOTS / "org-packages-desktop.png", full_page=True)

    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Package offer “Five sessions”")
    page.get_by_label("Valid for (days)").fill("365")
    page.screenshot(path=SHOTS / "org-package-edit-desktop.png", full_page=True)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".messages")).to_contain_text("“Five sessions” was saved.")
    expect(row).to_contain_text("365 days")

    row.get_by_role("button", name="Retire Five sessions (Dr. Lena Vogt)").click()
    expect(page.locator(".messages")).to_contain_text("is retired")
    expect(row).to_contain_text("Retired")
    assert not PackageOffer.objects.get(pk=offer.pk).is_active


def test_the_patient_sees_an_offer_made_on_the_page(page: Page, shop, live_server):  # type: ignore[no-untyped-def]
    base = shop.site.base(live_server)
    page.goto(f"{base}/org/packages/")
    sign_in(page, base, shop.finance.email, totp=True)
    page.goto(f"{base}/org/packages/")
    new = new_offer_form(page)
    new.get_by_label("Specialist").select_option(label="Dr. Lena Vogt")
    new.get_by_label("Name").fill("Ten sessions")
    new.get_by_label("Sessions").fill("10")
    new.get_by_label("Price in EUR").fill("750,50")
    new.get_by_role("button", name="Create package offer").click()
    expect(page.locator(".messages")).to_contain_text("“Ten sessions” was created")
    page.context.clear_cookies()

    page.goto(f"{base}/specialists/{shop.profile.pk}/packages/")
    sign_in(page, base, shop.site.people["patient"].email)
    page.goto(f"{base}/specialists/{shop.profile.pk}/packages/")
    card = page.locator(".pk-offer", has_text="Ten sessions")
    expect(card).to_contain_text("750.50 EUR")
    expect(card).to_contain_text("75.05 EUR")


def test_the_packages_pages_on_a_phone(browser: Browser, shop, live_server):  # type: ignore[no-untyped-def]
    base = shop.site.base(live_server)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{base}/org/")
        sign_in(page, base, shop.finance.email, totp=True)
        offer = PackageOffer.objects.get(name="Three sessions")
        for path, name in (
            ("/org/packages/", "org-packages-phone"),
            (f"/org/packages/{offer.pk}/", "org-package-edit-phone"),
        ):
            page.goto(base + path)
            expect(page.locator("h1")).to_be_visible()
            fits_a_phone(page)
            page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    finally:
        context.close()
