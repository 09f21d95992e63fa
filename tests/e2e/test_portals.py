"""The four portals in a real browser, on two brands: sign-in, brand identity, access refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import BrowserContext, Page, expect

from caredoor.core.accounts.models import Membership, User
from caredoor.core.accounts.policy import Role
from tests import factories
from tests.e2e.conftest import SCREENSHOTS, SITES, BrandWorld, port_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# role -> (portal path, needs a TOTP code, label shown next to the brand name)
PORTALS = {
    "patient": ("/", False, "Patient portal"),
    "specialist": ("/specialist/", False, "Specialist portal"),
    "org_admin": ("/org/", True, "Organization portal"),
    "affiliate": ("/partners/", False, "Affiliate portal"),
}


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def header_colour(page: Page) -> str:
    return page.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")


def sign_in(
    page: Page, base: str, email: str, *, totp: bool = False, shots: str | None = None
) -> None:
    """Type the credentials into the brand's sign-in form (and the TOTP code when asked).

    ``shots``: a file name prefix under the screenshot folder for the sign-in steps.
    """
    if "/accounts/login/" not in page.url:
        page.locator(".site-header").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    if shots:
        page.screenshot(path=SCREENSHOTS / f"{shots}-login.png")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if totp:
        page.wait_for_url(f"{base}/accounts/2fa/authenticate/**")
        if shots:
            page.screenshot(path=SCREENSHOTS / f"{shots}-2fa.png")
        cache.clear()  # codes are single-use per period, remembered in the cache
        page.locator("input[name=code]").fill(factories.totp_now())
        page.get_by_role("button", name="Sign In", exact=True).click()


def assert_brand_header(page: Page, name: str, primary: str) -> None:
    expect(page.locator(".site-header .brand-mark__name")).to_have_text(name)
    assert header_colour(page) == rgb(primary)


@pytest.mark.parametrize("role", list(PORTALS))
@pytest.mark.parametrize("site_key", list(SITES))
def test_portal_sign_in_shows_the_brand(
    brand_world: BrandWorld, live_server, page: Page, screenshots: Path, site_key: str, role: str
) -> None:
    site = brand_world.sites[site_key]
    spec = SITES[site_key]
    path, totp, label = PORTALS[role]
    base = site.base(live_server)
    user = site.people[role]

    page.goto(base + path)
    # Before signing in the page is already the brand's: its name and colour.
    assert_brand_header(page, spec["name"], spec["primary"])
    sign_in(page, base, user.email, totp=totp, shots=f"{site_key}-{role}")

    page.wait_for_url(base + path)
    assert_brand_header(page, spec["name"], spec["primary"])
    expect(page.locator(".site-header .brand-mark__portal")).to_have_text(label)
    expect(page.locator(".site-user__name")).to_contain_text(user.name)
    page.screenshot(path=screenshots / f"{site_key}-{role}-dashboard.png", full_page=True)


def test_patient_home_on_a_phone(
    brand_world: BrandWorld, live_server, phone_context: BrowserContext, screenshots: Path
) -> None:
    site = brand_world.sites["lakeside"]
    page = phone_context.new_page()
    base = site.base(live_server)
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, site.people["patient"].email)
    page.wait_for_url(f"{base}/")
    assert_brand_header(page, SITES["lakeside"]["name"], SITES["lakeside"]["primary"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    page.screenshot(path=screenshots / "lakeside-patient-home-phone.png", full_page=True)
    # Nothing wider than the phone: no sideways scrolling.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px screen"


def test_patient_of_one_brand_is_refused_in_the_specialist_portal(
    brand_world: BrandWorld, live_server, page: Page, screenshots: Path
) -> None:
    site = brand_world.sites["lakeside"]
    base = site.base(live_server)
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, site.people["patient"].email)
    page.wait_for_url(f"{base}/")

    response = page.goto(f"{base}/specialist/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("No access here")
    expect(page.locator("main")).to_contain_text(site.people["patient"].email)
    assert_brand_header(page, SITES["lakeside"]["name"], SITES["lakeside"]["primary"])
    page.screenshot(path=screenshots / "lakeside-patient-specialist-403.png")


def test_unknown_host_gets_the_plain_404(brand_world: BrandWorld, live_server, page: Page) -> None:
    response = page.goto(f"http://nowhere.test:{port_of(live_server)}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("body")).to_contain_text("There is no site at this address.")
    assert page.locator(".site-header").count() == 0
    for spec in SITES.values():
        assert spec["name"] not in page.content()


def test_login_without_password_sign_in_offers_the_magic_link(
    brand_world: BrandWorld, live_server, page: Page, screenshots: Path
) -> None:
    factories.make_brand(
        brand_world.network,
        "quiet.test",
        slug="quiet",
        name="Quiet Harbour",
        primary_color="#334155",
        sign_in_methods=["magic_link"],
    )
    page.goto(f"http://quiet.test:{port_of(live_server)}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Quiet Harbour")
    assert page.locator("input[name=password]").count() == 0
    assert page.locator("input[type=password]").count() == 0
    magic = page.locator("[data-method=magic_link]")
    expect(magic).to_be_visible()
    expect(magic).to_have_text("Email me a sign-in link")
    assert page.locator("[data-method=email_code]").count() == 0
    page.screenshot(path=screenshots / "quiet-login-magic-link-only.png")


def test_sign_up_on_a_public_brand_creates_a_patient(
    brand_world: BrandWorld, live_server, page: Page, screenshots: Path
) -> None:
    site = brand_world.sites["summit"]
    base = site.base(live_server)
    email = "new.person@example.test"
    password = "a-long-new-passphrase-42"

    page.goto(f"{base}/")
    page.locator("main").get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/"))
    page.locator("input[name=name]").fill("New Person")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(password)
    page.locator("input[name=password2]").fill(password)
    page.locator("main form").get_by_role("button", name="Create my account").click()
    # The address is confirmed by the emailed link before the first sign-in.
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link.replace(f"http://{site.host}/", f"{base}/"))
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.locator(".site-header .brand-mark__portal")).to_have_text("Patient portal")
    assert_brand_header(page, SITES["summit"]["name"], SITES["summit"]["primary"])
    page.screenshot(path=screenshots / "summit-signup-patient-home.png")

    user = User.objects.get(email=email)
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.PATIENT
    assert membership.brand == site.brand
