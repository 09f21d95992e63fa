"""A specialist in a real browser: adds a session type, sets weekly hours with a lunch break,
and sees them in the calendar's week view; moves through weeks with the keyboard."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.e2e.conftest import PHONE, SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EN_DASH = "\u2013"


def fits_the_viewport(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_specialist_sets_up_a_session_type_and_hours_and_sees_them_in_the_week(
    brand_world: BrandWorld, live_server, page: Page, browser
):
    site = brand_world.sites["lakeside"]
    specialist = site.people["specialist"]
    factories.make_org(brand_world.network, "operator", slug="e2e-operator")  # onboards
    profile = do_register_specialist(specialist, site.brand)
    profile.time_zone = "Europe/Berlin"
    profile.save(update_fields=["time_zone"])
    base = site.base(live_server)

    page.goto(f"{base}/specialist/")
    sign_in(page, base, specialist.email)
    expect(page).to_have_url(f"{base}/specialist/")

    # A session type: reached from the calendar (not in the main navigation).
    page.locator(".site-nav").get_by_role("link", name="Calendar").click()
    page.get_by_role("main").get_by_role("link", name="Session types").click()
    page.get_by_role("link", name="Add a session type").first.click()
    page.get_by_label("Name").fill("Video session")
    page.get_by_label("Length (minutes)").fill("45")
    page.get_by_label("Start times every (minutes)").fill("30")
    page.get_by_label("Only by my invitation").check()
    page.get_by_role("button", name="Add session type").click()
    expect(page.locator(".message--success")).to_contain_text("“Video session” was added")
    card = page.locator(".st").filter(has_text="Video session")
    expect(card).to_contain_text("45 minutes")
    expect(card).to_contain_text("By invitation only")
    assert SessionType.objects.get(profile=profile).direct_booking is False

    # Tuesday 09:00-12:00 and 13:00-17:00, copied to Thursday.
    page.locator(".site-nav").get_by_role("link", name="Availability").click()
    expect(page.locator(".zone-note")).to_contain_text("Europe/Berlin")
    page.locator("#weekday-1 summary").click()
    page.locator("#id_day1-start_0").fill("09:00")
    page.locator("#id_day1-end_0").fill("12:00")
    page.locator("#id_day1-start_1").fill("13:00")
    page.locator("#id_day1-end_1").fill("17:00")
    page.locator("#weekday-1").get_by_label("Thursday").check()
    page.get_by_role("button", name="Save Tuesday").click()
    expect(page.locator(".message--success")).to_contain_text("Tuesday, Thursday")
    expect(page.locator("#weekday-3 .av-periods")).to_contain_text(f"13:00{EN_DASH}17:00")
    assert AvailabilityRule.objects.filter(profile=profile).count() == 4

    # An overlapping period is refused with its reason and writes nothing.
    page.locator("#weekday-1 summary").click()
    page.locator("#id_day1-start_2").fill("11:00")
    page.locator("#id_day1-end_2").fill("14:00")
    page.get_by_role("button", name="Save Tuesday").click()
    expect(page.locator("#weekday-1 .errorlist")).to_contain_text("overlap")
    assert AvailabilityRule.objects.filter(profile=profile).count() == 4

    # The week view shows the hours on Tuesday and Thursday, in the specialist's zone.
    page.locator(".site-nav").get_by_role("link", name="Calendar").click()
    expect(page.locator(".zone-note")).to_contain_text("Europe/Berlin")
    expect(page.locator(".cal-views a[aria-current='page']")).to_have_text("Week")
    today = timezone.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    monday = today - timedelta(days=today.weekday())

    def day(d: date):  # type: ignore[no-untyped-def]
        return page.locator(f"section[aria-labelledby='day-{d.isoformat()}-h']")

    def shows_hours(d: date) -> None:
        expect(day(d).locator(".cal-window")).to_have_count(2)
        expect(day(d)).to_contain_text(f"09:00{EN_DASH}12:00")
        expect(day(d)).to_contain_text(f"13:00{EN_DASH}17:00")

    shows_hours(monday + timedelta(days=1))
    shows_hours(monday + timedelta(days=3))
    expect(day(monday + timedelta(days=2))).to_contain_text("Closed")
    page.screenshot(path=SCREENSHOTS / "specialist-calendar-week.png", full_page=True)

    # The arrow key moves to the next week (a little JavaScript; the links work without it).
    page.locator("body").press("ArrowRight")
    next_monday = monday + timedelta(days=7)
    expect(page).to_have_url(re.compile(rf"date={(today + timedelta(days=7)).isoformat()}"))
    shows_hours(next_monday + timedelta(days=1))
    # The day's heading opens the day view, which offers to change that date.
    day(next_monday + timedelta(days=3)).get_by_role("link").first.click()
    expect(page.locator(".cal-views a[aria-current='page']")).to_have_text("Day")
    expect(page.locator(".cal-single")).to_contain_text(f"13:00{EN_DASH}17:00")
    page.get_by_role("link", name=re.compile("Day off or other hours")).click()
    expect(page.locator("h1")).to_contain_text("Hours on")
    page.get_by_label("Note for yourself").fill("Conference")
    page.get_by_role("button", name="Save this date").click()
    expect(page.locator(".cal-single")).to_contain_text("Day off")
    expect(page.locator(".cal-single")).to_contain_text("Conference")

    # On a phone the week is one column and nothing overflows sideways.
    phone = browser.new_context(viewport=PHONE, locale="en-GB")
    phone.add_cookies(page.context.cookies())
    try:
        small = phone.new_page()
        small.goto(f"{base}/specialist/calendar/?view=week")
        expect(small.locator(".cal-day")).to_have_count(7)
        assert fits_the_viewport(small)
        small.screenshot(path=SCREENSHOTS / "specialist-calendar-week-phone.png", full_page=True)
    finally:
        phone.close()
