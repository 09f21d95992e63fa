"""A video session between two browsers (Chromium, two contexts): the patient and the
specialist sign in, open the same booking's room inside its join window, pass the device
check and join; each receives the other's video (frames decoded, dimensions above zero),
mute and camera-off show on the other side, the specialist sees the session's context,
and one side leaving shows on the other. Also: the guidance when the browser refuses the
camera and microphone, or finds none; a second tab takes the call over.

Chromium runs with a synthetic camera and microphone and auto-accepted permission prompts
(tests/e2e/conftest.py). The pages are on ``summit.localhost``: browsers treat
``*.localhost`` as a secure context, which getUserMedia requires (``lakeside.test`` over
plain HTTP would not be). The live server is the ASGI application under uvicorn, so the
pages talk to the real signaling consumer; ICE runs on the machine's own addresses (no
STUN or TURN is configured in tests). Screenshots go to /tmp/shots/video-*.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.video.models import Room
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.e2e.conftest import DESKTOP, PHONE, BrandWorld
from tests.e2e.test_messaging_live import console_errors, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 -- where reviewers look for these screenshots
FRAME_WAIT_MS = 30_000

# Makes getUserMedia refuse: all of it, or only requests that include video.
DENY = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""
NO_DEVICES = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
"""
NO_CAMERA = """
(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    constraints && constraints.video
      ? Promise.reject(new DOMException("Requested device not found", "NotFoundError"))
      : real(constraints);
})();
"""


@pytest.fixture
def scene(brand_world: BrandWorld) -> dict[str, Any]:
    """Summit's specialist, listed, with a confirmed session starting in five minutes."""
    site = brand_world.sites["summit"]
    patient, specialist = site.people["patient"], site.people["specialist"]
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.video@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(brand=site.brand, specialist=specialist, operator=operator)
    profile, _listings = listed_with_hours(side)
    session_type = make_type(profile, name="Initial consultation")
    booking = do_book(patient=patient, brand=site.brand, session_type=session_type, start=local(10))
    start = timezone.now() + timedelta(minutes=5)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    booking.refresh_from_db()
    return {"site": site, "booking": booking, "patient": patient, "specialist": specialist}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=True)


def patient_url(scene: dict[str, Any], live_server: Any) -> str:
    return f"{scene['site'].base(live_server)}/sessions/{scene['booking'].pk}/join/"


def specialist_url(scene: dict[str, Any], live_server: Any, what: str = "join/") -> str:
    return f"{scene['site'].base(live_server)}/specialist/bookings/{scene['booking'].pk}/{what}"


def open_page(context: Any, url: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    errors = console_errors(page)
    page.goto(url)
    return page, errors


def device_check_passes(page: Page) -> None:
    """The preview shows the camera, both device lists are filled, the level meter moves,
    and both join buttons are offered."""
    expect(page.get_by_role("heading", name="Check your camera and microphone")).to_be_visible()
    expect(page.get_by_role("button", name="Join", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Join with audio only")).to_be_enabled()
    page.wait_for_function("() => document.getElementById('vr-preview').videoWidth > 0")
    assert page.locator("#vr-camera option").count() >= 1
    assert page.locator("#vr-microphone option").count() >= 1
    expect(page.get_by_label("Camera", exact=True)).to_be_enabled()
    expect(page.get_by_label("Microphone", exact=True)).to_be_enabled()
    # The fake microphone beeps: the meter reads above zero at some point. Audio starts
    # only after a gesture; on a busy machine the meter's audio context may be made after
    # the first click, so the test clicks again (as a person would) until it moves.
    moving = "() => Number(document.getElementById('vr-meter').getAttribute('aria-valuenow')) > 0"
    for attempt in range(6):
        page.locator("#vr-check-title").click()  # a gesture, so the audio context may run
        try:
            page.wait_for_function(moving, timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 5:
                raise


def frames_arrive(page: Page) -> dict[str, Any]:
    """The remote <video> decodes frames: dimensions above zero, time advancing, and a
    video frame callback with the frame's size. On failure, the pages' event traces are
    printed (states only, no content)."""
    try:
        return _frames_arrive(page)
    except Exception:
        context = page.context
        assert context.browser is not None
        for other in context.browser.contexts:
            for each in other.pages:
                if "/join/" in each.url:
                    print(
                        "TRACE", each.url, *each.evaluate("window.CaredoorVideo.trace()"), sep="\n"
                    )
        raise


def _frames_arrive(page: Page) -> dict[str, Any]:
    page.wait_for_function(
        "() => document.getElementById('vr-remote').videoWidth > 0", timeout=FRAME_WAIT_MS
    )
    first = page.evaluate("document.getElementById('vr-remote').currentTime")
    page.wait_for_function(
        "(first) => document.getElementById('vr-remote').currentTime > first + 0.5",
        arg=first,
        timeout=FRAME_WAIT_MS,
    )
    frame = page.evaluate(
        """() => new Promise((resolve) => {
          const video = document.getElementById('vr-remote');
          video.requestVideoFrameCallback((now, meta) =>
            resolve({width: meta.width, height: meta.height, presented: meta.presentedFrames}));
          setTimeout(() => resolve(null), 10000);
        })"""
    )
    assert frame is not None and frame["width"] > 0 and frame["height"] > 0, frame
    return frame


def video_state(page: Page) -> dict[str, Any]:
    return page.evaluate("window.CaredoorVideo.state()")


def real_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if "favicon" not in e]


def test_patient_and_specialist_meet_see_each_other_and_part(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    patient_ctx = signed_in(browser, scene["patient"], site, live_server, viewport=PHONE)
    specialist_ctx = signed_in(browser, scene["specialist"], site, live_server, viewport=DESKTOP)

    # --- the patient arrives first (on a phone) -----------------------------------------
    patient, patient_errors = open_page(patient_ctx, patient_url(scene, live_server))
    device_check_passes(patient)
    shot(patient, "video-device-check-phone.png")
    patient.get_by_role("button", name="Join", exact=True).click()
    expect(patient.locator("#vr-status")).to_have_text("Waiting for the specialist to join.")
    expect(patient.locator("#vr-remote-note")).to_contain_text(
        "Waiting for the specialist to join."
    )
    shot(patient, "video-waiting-phone.png")

    # --- the specialist's booking page says so and offers the room ----------------------
    specialist, specialist_errors = open_page(
        specialist_ctx, specialist_url(scene, live_server, "")
    )
    expect(specialist.get_by_text("Your patient is waiting in the video room.")).to_be_visible()
    specialist.get_by_role("link", name="Join video session").click()
    specialist.wait_for_url(specialist_url(scene, live_server))
    # The session's context: the patient's name and the session type.
    context_panel = specialist.locator("aside.vr-side")
    expect(context_panel.locator("#vr-fact-name")).to_have_text(scene["patient"].display_name)
    expect(context_panel.locator("#vr-fact-type")).to_have_text("Initial consultation")
    expect(specialist.locator("#vr-status")).to_have_text("Your patient is already in the room.")
    device_check_passes(specialist)
    shot(specialist, "video-device-check-desktop.png")
    specialist.get_by_role("button", name="Join", exact=True).click()

    # --- each side receives the other's video --------------------------------------------
    for page in (patient, specialist):
        frame = frames_arrive(page)
        assert frame["width"] > 0
        expect(page.locator("#vr-status")).to_have_text("Connected.")
    assert video_state(patient)["polite"] is True
    assert video_state(specialist)["polite"] is False
    # The remote picture is shown (not the placeholder), the timer runs.
    expect(specialist.locator("#vr-remote-cover")).to_be_hidden()
    expect(patient.locator("#vr-remote-cover")).to_be_hidden()
    specialist.wait_for_function("() => document.getElementById('vr-timer').textContent !== '0:00'")
    shot(patient, "video-call-phone.png")
    shot(specialist, "video-call-desktop.png")

    # --- mute and camera show on the other side (the "media" frame) ----------------------
    mute = patient.get_by_role("button", name="Mute")
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(specialist.locator("#vr-remote-muted")).to_be_visible()
    camera = patient.get_by_role("button", name="Camera off")
    camera.focus()
    patient.keyboard.press("Enter")  # the controls work from the keyboard
    expect(camera).to_have_attribute("aria-pressed", "true")
    expect(specialist.locator("#vr-remote-camera")).to_be_visible()
    expect(specialist.locator("#vr-remote-cover")).to_be_visible()
    shot(specialist, "video-call-camera-off-desktop.png")
    mute.click()
    camera.click()
    expect(specialist.locator("#vr-remote-muted")).to_be_hidden()
    expect(specialist.locator("#vr-remote-camera")).to_be_hidden()
    expect(specialist.locator("#vr-remote-cover")).to_be_hidden()

    # --- the specialist shares the screen, then goes back to the camera -----------------
    share = specialist.get_by_role("button", name="Share screen")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    expect(patient.locator("#vr-remote-screen")).to_be_visible()
    expect(specialist.locator("#vr-self")).to_have_class(re.compile(r"vr-video--screen"))
    frames_arrive(patient)
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")
    expect(patient.locator("#vr-remote-screen")).to_be_hidden()
    expect(specialist.locator("#vr-self")).to_have_class(re.compile(r"vr-video--mirror"))

    # --- background blur (CaredoorBlur): the processed picture is what goes out ---------
    blur = specialist.get_by_role("button", name="Blur background")
    blur.click()
    expect(blur).to_have_attribute("aria-pressed", "true", timeout=30_000)
    expect(specialist.locator("#vr-status")).to_have_text("Your background is blurred.")
    frames_arrive(patient)
    blur.click()
    expect(blur).to_have_attribute("aria-pressed", "false")
    frames_arrive(patient)

    # --- the specialist leaves: the patient is told ------------------------------------
    specialist.get_by_role("button", name="Leave").click()
    expect(specialist.get_by_role("heading", name="You left the call.")).to_be_visible()
    expect(specialist.get_by_role("button", name="Rejoin")).to_be_visible()
    expect(patient.locator("#vr-status")).to_have_text("The specialist left the call.")
    expect(patient.locator("#vr-remote-cover")).to_be_visible()
    assert video_state(specialist)["phase"] == "ended"

    assert real_errors(patient_errors) == []
    assert real_errors(specialist_errors) == []
    patient_ctx.close()
    specialist_ctx.close()


def test_a_rejoin_makes_a_fresh_connection_and_a_second_tab_takes_over(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    specialist_ctx = signed_in(browser, scene["specialist"], site, live_server, viewport=DESKTOP)
    patient_ctx = signed_in(browser, scene["patient"], site, live_server, viewport=DESKTOP)

    # The specialist is first this time: the desktop waiting room.
    specialist, specialist_errors = open_page(specialist_ctx, specialist_url(scene, live_server))
    specialist.get_by_role("button", name="Join", exact=True).click()
    expect(specialist.locator("#vr-status")).to_have_text("Waiting for your patient to join.")
    shot(specialist, "video-waiting-desktop.png")

    patient, patient_errors = open_page(patient_ctx, patient_url(scene, live_server))
    patient.get_by_role("button", name="Join with audio only").click()
    frames_arrive(patient)  # the patient sends no video, but receives the specialist's
    expect(specialist.locator("#vr-remote-camera")).to_be_visible()  # audio only: camera off
    expect(specialist.locator("#vr-status")).to_have_text("Connected.")
    assert specialist.evaluate("document.getElementById('vr-remote').videoWidth") == 0
    # She turns her camera on during the call: a video track is added, renegotiated.
    camera = patient.get_by_role("button", name="Camera off")
    expect(camera).to_have_attribute("aria-pressed", "true")
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "false")
    frames_arrive(specialist)
    expect(specialist.locator("#vr-remote-camera")).to_be_hidden()

    # The patient opens the room in a second tab: it takes the call over, the first tab
    # says why it stopped, and the specialist gets the video of the new connection.
    second, second_errors = open_page(patient_ctx, patient_url(scene, live_server))
    second.get_by_role("button", name="Join", exact=True).click()
    expect(
        patient.get_by_role("heading", name="This session is open in another tab or window.")
    ).to_be_visible()
    frames_arrive(second)
    frames_arrive(specialist)
    expect(specialist.locator("#vr-remote-camera")).to_be_hidden()
    shot(patient, "video-replaced-desktop.png")

    assert Room.objects.filter(booking=scene["booking"]).count() == 1
    for errors in (specialist_errors, patient_errors, second_errors):
        assert real_errors(errors) == []
    patient_ctx.close()
    specialist_ctx.close()


@pytest.mark.parametrize(
    ("script", "title", "join", "audio_only"),
    [
        (
            DENY,
            "Your browser is not allowing this page to use your camera and microphone.",
            False,
            False,
        ),
        (NO_DEVICES, "We found no camera or microphone.", False, False),
        (NO_CAMERA, "We found no camera, or it could not start.", False, True),
    ],
    ids=["denied", "no-devices", "no-camera"],
)
def test_the_device_check_explains_what_is_wrong(
    scene: dict[str, Any],
    live_server: Any,
    browser: Browser,
    script: str,
    title: str,
    join: bool,
    audio_only: bool,
) -> None:
    context = signed_in(browser, scene["patient"], scene["site"], live_server, viewport=PHONE)
    context.add_init_script(script)
    page, _errors = open_page(context, patient_url(scene, live_server))
    problem = page.get_by_role("alert")
    expect(problem).to_contain_text(title)
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    if script == DENY:
        expect(problem).to_contain_text("address bar")
        expect(page.get_by_label("Camera", exact=True)).to_be_disabled()
        expect(page.get_by_label("Camera", exact=True)).to_have_text("Not allowed")
        shot(page, "video-permission-denied-phone.png")
    expect(page.get_by_role("button", name="Join", exact=True)).to_be_enabled(
        enabled=join or audio_only
    )
    expect(page.get_by_role("button", name="Join with audio only")).to_be_enabled(
        enabled=audio_only
    )
    context.close()


# --- recovery ----------------------------------------------------------------------------------

# Every peer connection of the page may use relayed candidates only, and there is no TURN
# server in tests: ICE can never connect (a network that blocks the direct path).
NO_DIRECT_PATH = """
(() => {
  const Real = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Real {
    constructor(config) { super({...(config || {}), iceTransportPolicy: "relay"}); }
  };
})();
"""


def in_call(scene: dict[str, Any], live_server: Any, browser: Browser, **patient_options: Any):  # type: ignore[no-untyped-def]
    """Both sides joined (the patient's context gets ``patient_options``' init script)."""
    site = scene["site"]
    patient_ctx = signed_in(browser, scene["patient"], site, live_server, viewport=DESKTOP)
    if patient_options.get("init_script"):
        patient_ctx.add_init_script(patient_options["init_script"])
    specialist_ctx = signed_in(browser, scene["specialist"], site, live_server, viewport=DESKTOP)
    patient, patient_errors = open_page(patient_ctx, patient_url(scene, live_server))
    route = patient_options.get("route")
    if route is not None:
        patient.route_web_socket("**/ws/video/**", route)
    patient.get_by_role("button", name="Join", exact=True).click()
    specialist, specialist_errors = open_page(specialist_ctx, specialist_url(scene, live_server))
    specialist.get_by_role("button", name="Join", exact=True).click()
    return patient_ctx, specialist_ctx, patient, specialist, patient_errors + specialist_errors


def test_a_dropped_socket_reconnects_and_the_call_resumes(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    sockets: list[Any] = []

    def through(ws: Any) -> None:  # the page's socket, passed to the server as it is
        ws.connect_to_server()
        sockets.append(ws)

    patient_ctx, specialist_ctx, patient, specialist, errors = in_call(
        scene, live_server, browser, route=through
    )
    for page in (patient, specialist):
        frames_arrive(page)
    assert len(sockets) == 1

    # The network drops the patient's socket (not a leave): the specialist is told she
    # is reconnecting, her page reconnects with backoff and both make a fresh connection.
    sockets[0].close(code=4000, reason="network")
    expect(specialist.locator("#vr-status")).to_have_text(
        "Your patient's connection dropped. Waiting for it to return…"
    )
    expect(patient.locator("#vr-status")).to_have_text("Connected.", timeout=20_000)
    expect(specialist.locator("#vr-status")).to_have_text("Connected.", timeout=20_000)
    assert len(sockets) == 2
    for page in (patient, specialist):
        frames_arrive(page)
        # One connection for the first meeting, one after the rejoin.
        made = [
            line
            for line in page.evaluate("window.CaredoorVideo.trace()")
            if re.search(r"new peer connection: (welcome|joined)$", line)
        ]
        assert len(made) == 2, made
    assert real_errors(errors) == []
    patient_ctx.close()
    specialist_ctx.close()


def test_without_a_connection_audio_only_and_the_conversation_are_offered(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    brand = scene["site"].brand
    brand.video_fallback_seconds = 5
    brand.save(update_fields=["video_fallback_seconds"])
    patient_ctx, specialist_ctx, patient, specialist, _errors = in_call(
        scene, live_server, browser, init_script=NO_DIRECT_PATH
    )
    offer = patient.get_by_role("alert").filter(has_text="The video connection is not working.")
    expect(offer).to_be_visible(timeout=15_000)
    expect(offer.get_by_role("button", name="Continue with audio only")).to_be_visible()
    link = offer.get_by_role("link", name="Open the conversation")
    expect(link).to_have_attribute("href", re.compile(r"^/messages/\d+/$"))
    expect(specialist.get_by_role("link", name="Open the conversation").first).to_be_visible()
    shot(patient, "video-fallback-desktop.png")
    offer.get_by_role("button", name="Continue with audio only").click()
    expect(patient.locator("#vr-status")).to_have_text("Audio only: video is off for this call.")
    expect(offer).to_be_hidden()
    assert video_state(patient)["local"]["video"] is False
    patient_ctx.close()
    specialist_ctx.close()
