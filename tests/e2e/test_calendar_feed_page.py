"""The calendar subscription page in Chromium: create, copy, replace (with a confirmation),
and the URL it shows answers with a calendar on the live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from caredoor.core.calendars.models import CalendarFeed
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.e2e.conftest import SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def with_profile(brand_world: BrandWorld, site_key: str):  # type: ignore[no-untyped-def]
    """The site's specialist with a (draft) profile; registering needs the operator."""
    factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    site = brand_world.sites[site_key]
    do_register_specialist(site.people["specialist"], site.brand)
    return site, site.people["specialist"]


def fetch(page: Page, url: str) -> tuple[int, str, str]:
    """GET ``url`` from the page as a calendar app would: without cookies (and past the
    browser cache, which may keep a feed for five minutes)."""
    return tuple(  # type: ignore[return-value]
        page.evaluate(
            """async (url) => {
                const r = await fetch(url, {credentials: "omit", cache: "no-store"});
                return [r.status, r.headers.get("content-type"), await r.text()];
            }""",
            url,
        )
    )


def test_calendar_subscription_page(
    brand_world: BrandWorld, live_server, context: BrowserContext, page: Page
):
    site, specialist = with_profile(brand_world, "summit")  # *.localhost: a secure context
    base = site.base(live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    problems: list[str] = []  # CSP violations, script errors
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{base}/specialist/calendar/subscription/")
    sign_in(page, base, specialist.email)
    page.goto(f"{base}/specialist/calendar/subscription/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your sessions in your own calendar")
    page.screenshot(path=SCREENSHOTS / "calendar-feed-empty.png", full_page=True)

    page.get_by_role("button", name="Create calendar link").click()
    expect(page.locator(".message--success")).to_be_visible()
    field = page.get_by_label("Calendar link (keep it private)")
    url = field.input_value()
    token = CalendarFeed.objects.get(profile__user=specialist).token
    assert url == f"{base}/calendar/{token}.ics"
    copy = page.locator("button[data-copy-target=feed-url]")
    expect(copy).to_have_text("Copy link")
    expect(copy).to_be_visible()  # shown by JavaScript only
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url
    page.screenshot(path=SCREENSHOTS / "calendar-feed.png", full_page=True)
    assert problems == []

    status, kind, text = fetch(page, url)
    assert (status, kind) == (200, "text/calendar; charset=utf-8")
    assert text.startswith("BEGIN:VCALENDAR")

    # Replacing asks first; dismissing changes nothing.
    messages: list[str] = []

    def answer(dialog, accept: bool) -> None:  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="Replace link").click()
    assert messages and "old link stops working" in messages[0]
    assert field.input_value() == url
    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="Replace link").click()
    expect(page.locator(".message--success")).to_contain_text("new calendar link")
    new_url = page.get_by_label("Calendar link (keep it private)").input_value()
    assert new_url != url and re.search(r"/calendar/[\w-]+\.ics$", new_url)
    assert fetch(page, url)[0] == 404
    assert fetch(page, new_url)[0] == 200


def test_calendar_subscription_page_on_a_phone(
    brand_world: BrandWorld, live_server, phone_context: BrowserContext
):
    site, specialist = with_profile(brand_world, "lakeside")
    page = phone_context.new_page()
    base = site.base(live_server)
    page.goto(f"{base}/specialist/calendar/subscription/")
    sign_in(page, base, specialist.email)
    page.goto(f"{base}/specialist/calendar/subscription/")
    page.get_by_role("button", name="Create calendar link").click()
    expect(page.get_by_role("button", name="Copy link")).to_be_visible()
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=SCREENSHOTS / "calendar-feed-phone.png", full_page=True)
