"""Pages load without console errors (CSP violations, missing files) and keep keyboard access."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrandWorld
from tests.e2e.test_portals import sign_in

pytestmark = pytest.mark.e2e


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/favicon" not in r.url
            else None
        ),
    )
    return problems


def test_main_pages_have_no_console_errors(page: Page, brand_world: BrandWorld, live_server):
    site = brand_world.sites["lakeside"]
    base = site.base(live_server)
    problems = _watch(page)
    for path in ["/", "/accounts/login/", "/accounts/signup/", "/accounts/magic/"]:
        page.goto(base + path)
    sign_in(page, base, site.people["patient"].email)
    for path in ["/", "/account/", "/accounts/2fa/", "/accounts/password/change/"]:
        page.goto(base + path)
    assert problems == []


def test_skip_link_is_the_first_tab_stop(page: Page, brand_world: BrandWorld, live_server):
    page.goto(brand_world.sites["summit"].base(live_server) + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
