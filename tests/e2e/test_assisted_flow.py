"""Assisted scheduling in a real browser: the patient asks the team, the clinic's admin
allocates a specialist from the queue, the specialist proposes a time, the patient accepts
it and the request shows booked."""

from __future__ import annotations

import re
from datetime import time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.matching.models import AssistanceRequest
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from tests import factories
from tests.e2e.conftest import DESKTOP, BrandWorld
from tests.e2e.test_portals import sign_in
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")
NAME = "Dr. Mira Hoffmann"


def _page(browser: Browser) -> Page:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(15_000)
    return context.new_page()


def test_assisted_request_from_patient_to_staff_to_proposal_to_booking(
    brand_world: BrandWorld, browser: Browser, live_server
) -> None:
    site = brand_world.sites["lakeside"]
    site.brand.journey_mode = "assisted"
    site.brand.save()
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.assisted@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    specialist = site.people["specialist"]
    profile, _ = approved_and_listed(
        SimpleNamespace(brand=site.brand, operator=operator), specialist, [site.brand], name=NAME
    )
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    session_type = SessionType.objects.create(
        profile=profile, name="First session", duration_minutes=50, slot_step_minutes=30
    )
    base = site.base(live_server)
    problems: list[str] = []

    # 1. The patient describes their needs and good times.
    patient = _page(browser)
    patient.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    patient.goto(f"{base}/accounts/login/?next=/assisted/")
    sign_in(patient, base, site.people["patient"].email)
    patient.wait_for_url(f"{base}/assisted/")
    expect(patient.locator(".site-nav")).to_contain_text("Ask our team")
    patient.get_by_label("What would you like help with?").fill("Trouble sleeping before exams")
    patient.get_by_label("Tuesday").check()
    patient.get_by_label("Mornings (before 12:00)").check()
    patient.get_by_role("button", name="Send to our team").click()
    expect(patient.locator(".page-header .badge")).to_have_text("Waiting for the team")
    req = AssistanceRequest.objects.get()

    # 2. The clinic's admin finds it in the queue and allocates the suggested specialist.
    staff = _page(browser)
    staff.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    staff.goto(f"{base}/accounts/login/?next=/org/assisted/")
    sign_in(staff, base, site.people["org_admin"].email, totp=True)
    staff.wait_for_url(f"{base}/org/assisted/")
    staff.get_by_role("link", name=f"Request {req.pk}").click()
    expect(staff.locator("main")).to_contain_text("Trouble sleeping before exams")
    expect(staff.get_by_label(re.compile(NAME))).to_be_checked()
    staff.get_by_role("button", name="Allocate and ask for times").click()
    expect(staff.locator(".messages")).to_contain_text(f"{NAME} was allocated")

    # 3. The specialist proposes a time through the proposal page.
    start = next_free_slots(session_type, now=timezone.now() + timedelta(days=3), limit=1)[0].start
    local = start.astimezone(BERLIN)
    spec = _page(browser)
    spec.goto(f"{base}/accounts/login/?next=/specialist/bookings/propose/")
    sign_in(spec, base, specialist.email)
    spec.wait_for_url(f"{base}/specialist/bookings/propose/")
    spec.get_by_label("Patient").select_option(f"{site.brand.pk}:{site.people['patient'].pk}")
    spec.get_by_label("Session type").select_option(str(session_type.pk))
    spec.locator("input[name=day]").fill(local.date().isoformat())
    spec.locator("input[name=at]").fill(local.strftime("%H:%M"))
    spec.get_by_role("button", name=re.compile("^(Send|Propose)")).click()
    spec.wait_for_url(re.compile(r"/specialist/bookings/\d+/$"))
    proposal = Booking.objects.get(status=BookingStatus.PROPOSED)

    # 4. The patient sees the proposal from the request, accepts it, and the request is booked.
    patient.goto(f"{base}/assisted/{req.pk}/")
    expect(patient.locator(".page-header .badge")).to_have_text("A time was proposed")
    patient.get_by_role("link", name="Answer the proposal").click()
    patient.get_by_role("button", name=re.compile("^Accept the session")).click()
    expect(patient.locator(".messages")).to_contain_text("It is confirmed")
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CONFIRMED
    patient.goto(f"{base}/assisted/{req.pk}/")
    expect(patient.locator(".page-header .badge")).to_have_text("Booked")
    assert problems == []
