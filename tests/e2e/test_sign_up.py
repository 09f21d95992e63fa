"""Sign-up in a real browser: language and time zone come from the browser, the brand's
documents are accepted, and the confirmed patient lands on the brand's patient home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Browser, BrowserContext, Page, expect

from caredoor.core.accounts.models import Membership, User
from caredoor.core.consents.actions import do_create_document
from caredoor.core.consents.models import ConsentSignature
from tests.e2e.conftest import BrandWorld

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def new_york_german(browser: Browser) -> Iterator[BrowserContext]:
    """A browser set to German in New York (neither is the brand's default)."""
    context = browser.new_context(locale="de-DE", timezone_id="America/New_York")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def test_sign_up_takes_language_and_zone_from_the_browser(
    brand_world: BrandWorld, live_server, new_york_german: BrowserContext, screenshots: Path
) -> None:
    site = brand_world.sites["lakeside"]  # offers English (default) and German, Berlin time
    assert site.brand.languages == ["en", "de"] and site.brand.time_zone == "Europe/Berlin"
    operator = site.people["org_admin"]
    do_create_document(
        kind="terms",
        title="Nutzungsbedingungen",
        stage="signup",
        body="Seien Sie freundlich.",
        actor=operator,
        brand=site.brand,
    )
    base = site.base(live_server)
    page: Page = new_york_german.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.goto(f"{base}/")
    page.locator("main a[href='/accounts/signup/']").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    # German from Accept-Language (server), New York from Intl (signup.js).
    expect(page.locator("main select[name=language]")).to_have_value("de")
    expect(page.locator("main select[name=time_zone]")).to_have_value("America/New_York")
    page.screenshot(path=screenshots / "lakeside-signup-de-new-york.png", full_page=True)

    page.locator("input[name=name]").fill("Neue Person")
    page.locator("input[name=email]").fill("neue.person@example.test")
    page.locator("input[name=password1]").fill("ein-langes-passwort-42")
    page.locator("input[name=password2]").fill("ein-langes-passwort-42")
    page.get_by_label(re.compile("Nutzungsbedingungen")).check()
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".site-header .brand-mark__portal")).to_be_visible()

    user = User.objects.get(email="neue.person@example.test")
    assert (user.language, user.time_zone) == ("de", "America/New_York")
    assert Membership.objects.get(user=user).brand == site.brand
    assert ConsentSignature.objects.filter(user=user, brand=site.brand).count() == 1
    assert problems == []
