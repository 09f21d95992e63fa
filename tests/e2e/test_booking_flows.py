"""The patient's booking flows in a real browser: booking from a specialist's page (signing in
on the way), accepting a proposal, and asking for a time that the specialist then books."""

from __future__ import annotations

import os
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus
from caredoor.core.booking.proposals import do_propose
from caredoor.core.booking.requests import do_accept_request
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.portals.patient.booking_display import when
from tests import factories
from tests.e2e.conftest import SCREENSHOTS, BrandWorld, Site
from tests.e2e.test_portals import sign_in
from tests.specialist_helpers import approved_and_listed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")
# Screenshots go with the others (test-artifacts/screenshots), or where SHOTS_DIR says.
SHOTS = Path(os.environ.get("SHOTS_DIR") or SCREENSHOTS)
NAME = "Dr. Mira Hoffmann"


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def lakeside(brand_world: BrandWorld) -> Site:
    return brand_world.sites["lakeside"]


@pytest.fixture
def session_type(brand_world: BrandWorld, lakeside: Site) -> SessionType:
    """Lakeside's specialist, approved and listed there, open 09:00-17:00 Berlin time."""
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.booking@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(brand=lakeside.brand, operator=operator)
    profile, _listings = approved_and_listed(
        side, lakeside.people["specialist"], [lakeside.brand], name=NAME
    )
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    return SessionType.objects.create(
        profile=profile,
        name="Therapy session",
        duration_minutes=50,
        buffer_after_minutes=10,
        slot_step_minutes=30,
        # More than the 24 h free-cancellation window, so the test does not depend on the
        # time of day it runs at (a slot 12-24 h ahead is past the window).
        min_notice_minutes=25 * 60,
        horizon_days=60,
    )


def no_sideways_scrolling(page: Page) -> None:
    """Nothing in the page's main content is wider than the screen."""
    width = page.evaluate("document.querySelector('main').scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    wide = page.evaluate(
        """limit => [...document.querySelectorAll('main *')]
            .filter(el => el.getBoundingClientRect().right > limit + 1)
            .slice(0, 5).map(el => el.tagName + '.' + el.className + '#' + el.id)""",
        viewport["width"],
    )
    assert width <= viewport["width"], (
        f"page is {width}px wide on a {viewport['width']}px screen: {wide}"
    )


def test_a_visitor_books_from_the_specialists_page_signing_in_on_the_way(
    lakeside: Site, session_type: SessionType, live_server, page: Page, shots: Path
) -> None:
    base = lakeside.base(live_server)
    first = next_free_slots(session_type, limit=1)[0]
    problems: list[str] = []  # console errors (a CSP violation, say) and failed requests
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
    page.goto(f"{base}/specialists/{session_type.profile_id}/")
    page.get_by_role("link", name="See free times").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Book a session with {NAME}")
    expect(page.locator(".zone-bar__label")).to_contain_text(
        re.compile(r"Times in Europe/Berlin \(CES?T")
    )
    expect(page.locator(".next-slot")).to_contain_text(when(first.start, BERLIN))
    expect(page.locator(".slot--next")).to_have_count(1)
    page.screenshot(path=shots / "patient-book-week.png", full_page=True)

    # Choosing the next available time asks a visitor to sign in, then comes back to it.
    page.get_by_role("button", name="Choose this time").click()
    sign_in(page, base, lakeside.people["patient"].email)
    page.wait_for_url(re.compile(r"/book/confirm/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    policy = page.locator(".policy-list")
    expect(policy).to_contain_text("Free cancellation until 24 hours before")
    expect(policy).to_contain_text("later cancellations are charged 50 %")
    expect(page.locator(".summary-list")).to_contain_text(when(first.start, BERLIN))
    page.screenshot(path=shots / "patient-book-confirm.png", full_page=True)

    page.get_by_role("button", name="Book this session").click()
    expect(page.locator(".messages")).to_contain_text("Your session is booked.")
    booking = Booking.objects.get()
    assert (booking.start, booking.status) == (first.start, BookingStatus.CONFIRMED)
    page.screenshot(path=shots / "patient-booking-detail.png", full_page=True)

    page.locator(".site-nav").get_by_role("link", name="My sessions").click()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming"))
    expect(upcoming).to_contain_text(f"Therapy session with {NAME}")
    expect(upcoming).to_contain_text(when(first.start, BERLIN))
    page.screenshot(path=shots / "patient-sessions.png", full_page=True)
    assert problems == []


def test_a_patient_accepts_a_proposal(
    lakeside: Site, session_type: SessionType, live_server, page: Page, shots: Path
) -> None:
    patient = lakeside.people["patient"]
    start = next_free_slots(session_type, now=timezone.now() + timedelta(days=4), limit=1)[0].start
    proposal = do_propose(
        actor=lakeside.people["specialist"],
        brand=lakeside.brand,
        patient=patient,
        session_type=session_type,
        start=start,
    )
    base = lakeside.base(live_server)
    page.goto(f"{base}/accounts/login/?next=/sessions/")
    sign_in(page, base, patient.email)
    page.wait_for_url(f"{base}/sessions/")
    waiting = page.locator(
        "section", has=page.get_by_role("heading", name="Waiting for your answer")
    )
    assert proposal.expires_at is not None
    expect(waiting).to_contain_text(f"Answer by {when(proposal.expires_at, BERLIN)}")
    expect(waiting).to_contain_text(when(start, BERLIN))
    page.screenshot(path=shots / "patient-proposal.png", full_page=True)

    waiting.get_by_role("button", name=re.compile("^Accept the session")).click()
    expect(page.locator(".messages")).to_contain_text("It is confirmed")
    expect(page.locator(".page-header .badge")).to_have_text("Confirmed")
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CONFIRMED


def test_a_patient_asks_for_a_time_and_sees_the_session_booked(
    lakeside: Site, session_type: SessionType, live_server, page: Page, shots: Path
) -> None:
    patient = lakeside.people["patient"]
    base = lakeside.base(live_server)
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=6)
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, patient.email)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/specialists/{session_type.profile_id}/")
    page.get_by_role("link", name="Ask for a time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ask {NAME} for a time")
    period = page.locator("fieldset", has_text="Period 1")
    period.get_by_label("Date").fill(day.isoformat())
    period.get_by_label("From").fill("10:00")
    period.get_by_label("Until").fill("13:00")
    page.screenshot(path=shots / "patient-request-form.png", full_page=True)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".messages")).to_contain_text("Your request was sent.")
    requests = page.locator("#requests")
    req = AvailabilityRequest.objects.get()
    expect(requests).to_contain_text(f"Answer expected by {when(req.respond_by, BERLIN)}")
    expect(requests.get_by_role("button", name="Withdraw request")).to_be_visible()

    # The specialist answers with a time inside the patient's period: booked at once.
    start = datetime.combine(day, time(11), BERLIN)
    do_accept_request(req, actor=lakeside.people["specialist"], start=start)
    page.reload()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming"))
    expect(upcoming).to_contain_text(when(start, BERLIN))
    expect(upcoming.locator(".badge")).to_have_text("Confirmed")
    expect(requests).to_contain_text("Accepted")
    page.screenshot(path=shots / "patient-request-accepted.png", full_page=True)
    requests.get_by_role("link", name="See the session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Therapy session with {NAME}")


def test_booking_pages_fit_a_phone(
    lakeside: Site,
    session_type: SessionType,
    live_server,
    phone_context: BrowserContext,
    shots: Path,
) -> None:
    patient = lakeside.people["patient"]
    page = phone_context.new_page()
    base = lakeside.base(live_server)
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, patient.email)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/specialists/{session_type.profile_id}/book/")
    expect(page.locator(".slot--next")).to_have_count(1)
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-book-week-phone.png", full_page=True)
    page.locator(".slot--next").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-book-confirm-phone.png", full_page=True)
    page.get_by_role("button", name="Book this session").click()
    expect(page.locator(".messages")).to_contain_text("Your session is booked.")
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-booking-detail-phone.png", full_page=True)
    page.get_by_role("link", name="Cancel session").click()
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-cancel-phone.png", full_page=True)
    page.goto(f"{base}/sessions/")
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-sessions-phone.png", full_page=True)
    page.goto(f"{base}/specialists/{session_type.profile_id}/request/")
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-request-form-phone.png", full_page=True)
    period = page.locator("fieldset", has_text="Period 1")
    period.get_by_label("Date").fill((timezone.now() + timedelta(days=5)).date().isoformat())
    period.get_by_label("From").fill("12:00")
    period.get_by_label("Until").fill("11:00")
    page.get_by_role("button", name="Send request").click()
    expect(period.locator(".errorlist")).to_have_text("Until: The period must end after it starts.")
    no_sideways_scrolling(page)
    page.screenshot(path=shots / "patient-request-error-phone.png", full_page=True)
    assert not AvailabilityRequest.objects.exists()


def test_a_taken_time_offers_others_and_a_session_can_be_moved(
    lakeside: Site, session_type: SessionType, live_server, page: Page, shots: Path
) -> None:
    """Someone else books the time while the patient reads the terms: the page offers the
    next free times, one click books one; then the patient moves it to another day."""
    patient = lakeside.people["patient"]
    base = lakeside.base(live_server)
    first = next_free_slots(session_type, limit=1)[0]
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, patient.email)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/specialists/{session_type.profile_id}/book/")
    page.get_by_role("button", name="Choose this time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    rival = factories.make_user("rival.patient@example.test")
    factories.grant(rival, "patient", network=lakeside.brand.network, brand=lakeside.brand)
    from caredoor.core.booking.actions import do_book

    do_book(patient=rival, brand=lakeside.brand, session_type=session_type, start=first.start)
    page.get_by_role("button", name="Book this session").click()
    expect(page.get_by_role("alert")).to_contain_text("This time was just taken")
    page.screenshot(path=shots / "patient-slot-taken.png", full_page=True)
    second = next_free_slots(session_type, limit=1)[0]
    page.get_by_role("button", name=when(second.start, BERLIN)).click()
    expect(page.locator(".messages")).to_contain_text("Your session is booked.")
    booking = Booking.objects.get(patient=patient)
    assert booking.start == second.start

    page.get_by_role("link", name="Move to another time").click()
    expect(page.locator(".slot--current")).to_have_count(1)
    page.screenshot(path=shots / "patient-move-week.png", full_page=True)
    page.get_by_role("link", name="Next week").click()
    page.locator(".slot-day:not(.slot-day--empty) .slot").first.click()
    expect(page.get_by_role("heading", name="Confirm the new time")).to_be_visible()
    page.screenshot(path=shots / "patient-move-confirm.png", full_page=True)
    page.get_by_role("button", name="Move the session").click()
    expect(page.locator(".messages")).to_contain_text("Your session is moved to")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED
    page.get_by_role("link", name="Cancel session").click()
    expect(page.locator(".cancel-terms")).to_contain_text("free of charge")
    page.screenshot(path=shots / "patient-cancel.png", full_page=True)
    page.get_by_role("button", name="Yes, cancel the session").click()
    expect(page.locator(".page-header .badge")).to_have_text("Cancelled by the patient")


def test_a_week_with_a_clock_change_in_the_patients_zone(
    lakeside: Site, session_type: SessionType, live_server, page: Page, shots: Path
) -> None:
    patient = lakeside.people["patient"]
    patient.time_zone = "America/New_York"
    patient.save()
    session_type.horizon_days = 200
    session_type.save()
    zone = ZoneInfo("America/New_York")
    day = timezone.now().astimezone(zone).date()
    while (
        datetime.combine(day, time(12), zone).utcoffset()
        == datetime.combine(day + timedelta(days=1), time(12), zone).utcoffset()
    ):
        day += timedelta(days=1)
    change = day + timedelta(days=1)
    monday = change - timedelta(days=change.weekday())
    base = lakeside.base(live_server)
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, patient.email)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/specialists/{session_type.profile_id}/book/?week={monday.isoformat()}")
    expect(page.locator(".zone-bar__label")).to_contain_text("America/New York (")
    expect(page.locator(".message--warning")).to_contain_text("The clocks go")
    page.screenshot(path=shots / "patient-book-week-dst.png", full_page=True)
