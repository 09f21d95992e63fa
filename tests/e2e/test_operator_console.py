"""The operator console in the browser: the invitation form shows only the scope that applies."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in

pytestmark = pytest.mark.e2e


def test_invite_form_follows_the_chosen_role(page: Page, brand_world: BrandWorld, live_server):
    site = brand_world.sites["lakeside"]
    base = site.base(live_server)
    page.goto(f"{base}/org/members/")
    sign_in(page, base, site.people["org_admin"].email, totp=True)
    page.goto(f"{base}/org/members/")
    role = page.locator("#id_role")
    assert page.locator("[id=id_role]").count() == 1  # ids are unique on the page
    organization = page.locator("[data-scope=organization]")
    network_note = page.locator("[data-scope=network]")
    # An org admin grants organization roles only: the organization field shows.
    role.select_option("org_staff")
    expect(organization).to_be_visible()
    expect(network_note).to_be_hidden()
    page.screenshot(path=SCREENSHOTS / "org-invite-form.png", full_page=True)
    role.select_option("finance")
    expect(organization).to_be_visible()


def test_operator_invite_form_hides_scopes_that_do_not_apply(
    page: Page, brand_world: BrandWorld, live_server
):
    from tests import factories

    site = brand_world.sites["summit"]
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.e2e@example.test", name="Olga Operator")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    base = site.base(live_server)
    page.goto(f"{base}/org/members/")
    sign_in(page, base, operator.email, totp=True)
    page.goto(f"{base}/org/members/")
    role = page.locator("#id_role")
    brand, organization = (
        page.locator("[data-scope=brand]"),
        page.locator("[data-scope=organization]"),
    )
    note = page.locator("[data-scope=network]")
    role.select_option("specialist")
    expect(note).to_be_visible()
    expect(brand).to_be_hidden()
    expect(organization).to_be_hidden()
    role.select_option("patient")
    expect(brand).to_be_visible()
    expect(organization).to_be_hidden()
    role.select_option("org_admin")
    expect(organization).to_be_visible()
    expect(brand).to_be_hidden()


def test_operator_pages_fit_a_phone_screen(phone_context, brand_world: BrandWorld, live_server):
    from tests import factories

    site = brand_world.sites["lakeside"]
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator-2")
    operator = factories.make_user("operator.phone@example.test", name="Pia Phone")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    page = phone_context.new_page()
    base = site.base(live_server)
    page.goto(f"{base}/org/")
    sign_in(page, base, operator.email, totp=True)
    for path in [
        "/org/",
        "/org/members/",
        "/org/brands/",
        f"/org/brands/{site.brand.pk}/",
        "/org/audit/",
        "/org/account/",
    ]:
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px screen"
