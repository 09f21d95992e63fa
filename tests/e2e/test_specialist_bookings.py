"""A specialist answers a patient's availability request in a real browser: the request
is on the bookings page with the patient's periods in the specialist's zone, one click on
a free time inside a period books it, and the session is on the bookings page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from caredoor.core.booking import requests
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from tests import factories
from tests.e2e.conftest import SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")


def listed_specialist(brand_world: BrandWorld):  # type: ignore[no-untyped-def]
    """Lakeside's specialist approved and listed there, open 09-17 Berlin every day."""
    site = brand_world.sites["lakeside"]
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.bookings@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(brand=site.brand, operator=operator)
    profile, _listings = approved_and_listed(
        side, site.people["specialist"], [site.brand], name="Dr. Rhea Rivers"
    )
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    session_type = SessionType.objects.create(
        profile=profile,
        name="Consultation",
        duration_minutes=50,
        buffer_after_minutes=10,
        slot_step_minutes=30,
        min_notice_minutes=60,
        horizon_days=60,
    )
    return site, profile, session_type


def test_the_specialist_accepts_a_request_with_a_time_and_sees_the_booking(
    brand_world: BrandWorld, live_server, page: Page
):
    site, _profile, session_type = listed_specialist(brand_world)
    patient = site.people["patient"]
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=5)
    period = (
        datetime.combine(day, time(10), BERLIN),
        datetime.combine(day, time(12), BERLIN),
    )
    req = requests.do_request_availability(
        patient=patient, brand=site.brand, session_type=session_type, preferred=[period]
    )
    base = site.base(live_server)

    page.goto(f"{base}/specialist/")
    sign_in(page, base, site.people["specialist"].email)
    page.wait_for_url(f"{base}/specialist/**")
    page.locator(".site-nav").get_by_role("link", name="Bookings").click()
    page.wait_for_url(f"{base}/specialist/bookings/")
    requests_card = page.locator("section", has=page.locator("#requests-h"))
    expect(requests_card).to_contain_text(patient.display_name)
    expect(requests_card).to_contain_text("10:00\u201312:00")  # Berlin, the specialist's zone
    expect(page.locator(".bk-zone")).to_contain_text("Europe/Berlin")
    page.screenshot(path=SCREENSHOTS / "spec-bookings-request.png", full_page=True)

    requests_card.get_by_role("link", name=re.compile(r"^Answer")).click()
    page.wait_for_url(f"{base}/specialist/bookings/requests/{req.pk}/")
    suggestions = page.locator("#request-suggestions")
    expect(suggestions.get_by_role("button")).not_to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "spec-request-answer.png", full_page=True)
    choice = suggestions.get_by_role("button", name=re.compile(r"11:00\u201311:50"))
    choice.click()

    booking = Booking.objects.get(availability_request=req)
    page.wait_for_url(f"{base}/specialist/bookings/{booking.pk}/")
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.start == datetime.combine(day, time(11), BERLIN).astimezone(UTC)
    expect(page.locator(".messages")).to_contain_text("is booked for")
    expect(page.locator("h1")).to_contain_text(f"Consultation with {patient.display_name}")
    expect(page.get_by_role("button", name="Move to this time")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "spec-booking-detail.png", full_page=True)

    page.get_by_role("link", name="Bookings").first.click()
    upcoming = page.locator("section", has=page.locator("#upcoming-h"))
    expect(upcoming).to_contain_text(patient.display_name)
    expect(upcoming).to_contain_text("11:00")
    expect(page.locator("section", has=page.locator("#requests-h"))).to_contain_text(
        "No request is waiting"
    )
