"""In Chromium: the specialist's dashboard card "Today's sessions" (a session open now with
the patient waiting, one later today, the next days), desktop and phone, leading into the
room; and "End the call" in an ad-hoc call, where the page leaves the socket before it
posts, so the patient reads "The specialist left the call." (not a dropped connection)
and the call is closed for good.

Pages on ``summit.localhost`` (a secure context, for getUserMedia). Screenshots go to
/tmp/shots/specialist-dashboard-*.png and /tmp/shots/video-end-call-*.png.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.video import actions
from caredoor.core.video.models import Attendance, Room, Side
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.e2e.conftest import DESKTOP, PHONE, BrandWorld
from tests.e2e.test_messaging_live import console_errors, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 -- where reviewers look for these screenshots


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=True)


def move(booking: Booking, start: Any) -> Booking:
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    booking.refresh_from_db()
    return booking


@pytest.fixture
def scene(brand_world: BrandWorld) -> dict[str, Any]:
    """Summit's specialist, listed, with patients: Paula's session starts in five minutes,
    Nico's in three hours, and two more on the next days."""
    site = brand_world.sites["summit"]
    specialist = site.people["specialist"]
    specialist.name = "Mara Klein"
    specialist.save(update_fields=["name"])
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.sessions@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(brand=site.brand, specialist=specialist, operator=operator)
    profile, _listings = listed_with_hours(side)
    first = make_type(profile, name="Initial consultation")
    follow_up = make_type(profile, name="Follow-up talk")
    patient = site.people["patient"]
    patient.name = "Paula Patient"
    patient.save(update_fields=["name"])
    nico = factories.make_user("nico.sessions@example.test", name="Nico Fischer")
    factories.grant(nico, "patient", network=brand_world.network, brand=site.brand)
    now = timezone.now()
    bookings = []
    for who, kind, day, minutes in (
        (patient, first, 7, 5),
        (nico, follow_up, 8, 3 * 60),
        (patient, follow_up, 9, 24 * 60 + 30),
        (nico, follow_up, 10, 3 * 24 * 60),
    ):
        booking = do_book(
            patient=who, brand=site.brand, session_type=kind, start=local(10, days=day)
        )
        bookings.append(move(booking, now + timedelta(minutes=minutes)))
    return {
        "site": site,
        "profile": profile,
        "bookings": bookings,
        "patient": patient,
        "specialist": specialist,
    }


def test_the_dashboard_card_leads_into_the_room(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    open_now = scene["bookings"][0]
    actions.do_join(actions.room_for(open_now), scene["patient"], Side.PATIENT)
    base = site.base(live_server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = signed_in(browser, scene["specialist"], site, live_server, viewport=viewport)
        page = context.new_page()
        errors = console_errors(page)
        page.goto(f"{base}/specialist/")
        card = page.locator("section.dash-sessions")
        expect(card.get_by_role("heading", name="Today's sessions")).to_be_visible()
        expect(card.get_by_text("Your patient is waiting in the video room.")).to_be_visible()
        expect(
            card.get_by_role("link", name="Initial consultation with Paula Patient")
        ).to_have_attribute("href", f"/specialist/bookings/{open_now.pk}/")
        expect(card.get_by_role("link", name="Join video session")).to_have_count(1)
        # The page fits the phone: nothing wider than the viewport.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (name, width)
        shot(page, f"specialist-dashboard-{name}.png")
        if name == "desktop":
            # The button's accessible name says whose session it is.
            card.get_by_role("link", name="Join video session with Paula Patient").click()
            page.wait_for_url(f"{base}/specialist/bookings/{open_now.pk}/join/")
            expect(page.locator("#vr-status")).to_have_text("Your patient is already in the room.")
        assert [e for e in errors if "favicon" not in e] == []
        context.close()


def test_end_the_call_leaves_first_then_closes_the_call(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    Brand.objects.filter(pk=site.brand.pk).update(video_adhoc_calls=True)
    brand = Brand.objects.get(pk=site.brand.pk)
    room = actions.do_start_adhoc(brand, scene["profile"], scene["patient"])
    base = site.base(live_server)
    patient_ctx = signed_in(browser, scene["patient"], site, live_server, viewport=PHONE)
    specialist_ctx = signed_in(browser, scene["specialist"], site, live_server, viewport=DESKTOP)

    patient = patient_ctx.new_page()
    patient_errors = console_errors(patient)
    patient.goto(f"{base}/calls/{room.name}/")
    expect(patient.get_by_role("button", name="Join", exact=True)).to_be_enabled()
    assert patient.locator("#vr-end-form").count() == 0  # not hers
    patient.get_by_role("button", name="Join", exact=True).click()
    expect(patient.locator("#vr-status")).to_have_text("Waiting for the specialist to join.")

    specialist = specialist_ctx.new_page()
    specialist_errors = console_errors(specialist)
    specialist.goto(f"{base}/specialist/calls/{room.name}/")
    specialist.get_by_role("button", name="Join", exact=True).click()
    end = specialist.get_by_role("button", name="End the call")
    expect(end.first).to_be_visible()
    expect(specialist.get_by_role("button", name="Leave")).to_be_visible()
    specialist.wait_for_function("() => window.CaredoorVideo.state().peerHere", timeout=20_000)
    shot(specialist, "video-end-call-desktop.png")
    specialist.set_viewport_size(PHONE)
    shot(specialist, "video-end-call-phone.png")
    specialist.set_viewport_size(DESKTOP)

    end.first.click()
    # The specialist lands on the patient's page, told the call has ended.
    specialist.wait_for_url(f"{base}/specialist/patients/**")
    expect(specialist.get_by_text("The video call has ended.")).to_be_visible()
    # The patient heard "left" at once (a dropped socket would read "connection dropped"),
    # then that the call is over: ending it ends her socket too, on commit.
    expect(patient.locator("#vr-status")).to_have_text("This call has ended.")
    trace = "\n".join(patient.evaluate("window.CaredoorVideo.trace()"))
    assert "frame peer lost" not in trace
    assert 0 <= trace.index("frame peer left") < trace.index("frame ended closed")
    room.refresh_from_db()
    assert room.closed_at is not None
    spec_rows = Attendance.objects.filter(room=room, side=Side.SPECIALIST)
    assert spec_rows.exists() and not spec_rows.filter(left_at__isnull=True).exists()
    assert Room.objects.filter(pk=room.pk, closed_at__isnull=False).exists()
    assert [e for e in specialist_errors if "favicon" not in e] == []
    assert [e for e in patient_errors if "favicon" not in e] == []


# A browser that cannot segment (no WebAssembly) with a camera that offers its own blur
# (Chrome on some systems): the camera track's capabilities say so, applyConstraints is
# recorded. Blur is offered only because supported() is asked about the camera track.
NATIVE_BLUR_ONLY = """
window.WebAssembly = undefined;
window.blurCalls = [];
const realCapabilities = MediaStreamTrack.prototype.getCapabilities;
MediaStreamTrack.prototype.getCapabilities = function () {
  const capabilities = realCapabilities ? realCapabilities.call(this) : {};
  return this.kind === "video" ? { ...capabilities, backgroundBlur: [false, true] } : capabilities;
};
const realApply = MediaStreamTrack.prototype.applyConstraints;
MediaStreamTrack.prototype.applyConstraints = function (constraints) {
  if (constraints && "backgroundBlur" in constraints) {
    window.blurCalls.push(constraints.backgroundBlur);
    return Promise.resolve();
  }
  return realApply.call(this, constraints);
};
"""


def test_a_cameras_own_blur_is_offered_in_the_call(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    url = f"{site.base(live_server)}/specialist/bookings/{scene['bookings'][0].pk}/join/"
    context = signed_in(browser, scene["specialist"], site, live_server, viewport=DESKTOP)
    context.add_init_script(NATIVE_BLUR_ONLY)
    page = context.new_page()
    errors = console_errors(page)
    page.goto(url)
    page.get_by_role("button", name="Join", exact=True).click()
    blur = page.get_by_role("button", name="Blur background")
    expect(blur).to_be_visible()
    blur.click()
    expect(blur).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.blurCalls") == [True]
    blur.click()
    expect(blur).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.blurCalls") == [True, False]
    page.get_by_role("button", name="Leave").click()

    # Joined with audio only there is no camera to ask: no blur until the camera starts.
    page.get_by_role("button", name="Rejoin").click()
    page.get_by_role("button", name="Join with audio only").click()
    expect(page.locator("#vr-call")).to_be_visible()
    expect(blur).to_be_hidden()
    camera = page.locator("#vr-camera-toggle")
    expect(camera).to_have_attribute("aria-pressed", "true")
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "false")
    expect(blur).to_be_visible()
    assert [e for e in errors if "favicon" not in e] == []
    context.close()
