"""The video room pages: the patient's join page (the room inside the join window) and the
specialist's ``specialist:session_join``; who gets 404 (or the portal's 403 for people
without a role in it); early, over, not confirmed and missing consents; what the
specialist sees of the session; the booking page's "Join video session" and waiting
notice; the ad-hoc use of ``render_room``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.messaging.models import Thread, ThreadKind
from caredoor.core.notifications.links import portal_path
from caredoor.core.video import actions
from caredoor.core.video.models import Room, RoomKind, Side
from caredoor.core.video.rules import Entry
from caredoor.portals.common.access import PortalContext
from caredoor.portals.common.video_room import render_room
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type, require_session_consent
from tests.conftest import ROLES
from tests.specialist_helpers import complete_profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(world) -> Booking:  # type: ignore[no-untyped-def]
    """A confirmed session on brand A, starting in five minutes (the room is open)."""
    profile, _ = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile, name="Follow-up talk"),
        start=local(10),
    )
    return _move(booking, timezone.now() + timedelta(minutes=5))


def _move(booking: Booking, start) -> Booking:  # type: ignore[no-untyped-def]
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    booking.refresh_from_db()
    return booking


def patient_url(booking: Booking) -> str:
    return f"/sessions/{booking.pk}/join/"


def specialist_url(booking: Booking) -> str:
    return f"/specialist/bookings/{booking.pk}/join/"


def strings_of(html: str) -> dict[str, str]:
    match = re.search(r'<script id="video-strings" type="application/json">(.*?)</script>', html)
    assert match, "the page carries its strings"
    return json.loads(match.group(1))


# --- the room, each side ---------------------------------------------------------------------


def test_the_patient_join_page_is_the_room_inside_the_window(world, booked, client_for):
    response = client_for(world.a.patient, world.a.brand).get(patient_url(booked))
    assert response.status_code == 200
    html = response.content.decode()
    room = Room.objects.get(booking=booked)  # created on the first entry
    assert f'data-ws-path="/ws/video/patient/{room.name}/"' in html
    assert 'data-side="patient"' in html
    assert f'data-fallback-seconds="{world.a.brand.video_fallback_seconds}"' in html
    assert "caredoor/js/video.js" in html and "caredoor/css/video.css" in html
    assert html.index("video-blur.js") < html.index("js/video.js")  # blur first
    assert "Check your camera and microphone" in html
    assert "Join with audio only" in html
    assert "The session is open: you can join from 10 minutes" in html
    assert "Video sessions are not available" not in html
    strings = strings_of(html)
    assert strings["waiting"] == "Waiting for the specialist to join."
    assert strings["otherLeft"] == "The specialist left the call."
    assert strings["otherName"] == "Dr. Listed"
    # No inline script or style: the page works under the strict CSP.
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    assert response["Cache-Control"] == "no-store"
    assert "camera=(self)" in response["Permissions-Policy"]


def test_livekits_browser_sdk_is_loaded_only_for_its_provider(world, booked, client_for, settings):
    """The SDK patches RTCPeerConnection on load: the p2p page must not carry it."""
    client = client_for(world.a.patient, world.a.brand)
    p2p = client.get(patient_url(booked)).content.decode()
    assert "livekit" not in p2p
    settings.VIDEO = {
        **settings.VIDEO,
        "provider": "livekit",
        "livekit": {
            "url": "wss://livekit.example.org",
            "api_key": "key",
            "api_secret": "livekit-secret-0123456789abcdef-xyz",
        },
    }
    html = client.get(patient_url(booked)).content.decode()
    sdk, wrapper, page = (
        html.index("vendor/livekit/livekit-client.umd.js"),
        html.index("js/video-livekit.js"),
        html.index("js/video.js"),
    )
    assert sdk < wrapper < page


def test_the_specialist_room_shows_the_session_context(world, booked, client_for):
    booked.profile.time_zone = "America/New_York"
    booked.profile.save(update_fields=["time_zone"])
    response = client_for(world.a.specialist, world.a.brand).get(specialist_url(booked))
    assert response.status_code == 200
    html = response.content.decode()
    room = Room.objects.get(booking=booked)
    assert f'data-ws-path="/ws/video/specialist/{room.name}/"' in html
    assert 'data-side="specialist"' in html
    assert f'id="vr-fact-name">{world.a.patient.display_name}<' in html
    assert 'id="vr-fact-type">Follow-up talk<' in html
    zone = ZoneInfo("America/New_York")
    start, end = booked.start.astimezone(zone), booked.end.astimezone(zone)
    assert f"{start:%H:%M}" in html and f"{end:%H:%M}" in html
    assert "Times in America/New York" in html
    assert strings_of(html)["waiting"] == "Waiting for your patient to join."
    # Both sides meet in the same room.
    client_for(world.a.patient, world.a.brand).get(patient_url(booked))
    assert Room.objects.filter(booking=booked).count() == 1


def test_the_conversation_link_only_when_the_thread_exists_and_is_theirs(world, booked, client_for):
    Thread.objects.filter(kind=ThreadKind.CARE).delete()
    html = client_for(world.a.patient, world.a.brand).get(patient_url(booked)).content.decode()
    assert "data-conversation-url" not in html and "Open the conversation" not in html
    thread = Thread.objects.create(
        brand=world.a.brand, kind=ThreadKind.CARE, patient=world.a.patient, profile=booked.profile
    )
    html = client_for(world.a.patient, world.a.brand).get(patient_url(booked)).content.decode()
    assert f'data-conversation-url="/messages/{thread.pk}/"' in html
    html = client_for(world.a.specialist, world.a.brand).get(specialist_url(booked))
    assert f'href="/specialist/messages/{thread.pk}/"' in html.content.decode()


# --- who gets in -----------------------------------------------------------------------------


def test_third_parties_other_brands_and_other_roles_get_nothing(world, booked, client_for):
    brand = world.a.brand
    other_patient = factories.make_user("another.patient@example.test")
    factories.grant(other_patient, "patient", network=world.a.network, brand=brand)
    other_specialist = factories.make_user("another.specialist@example.test")
    factories.grant(other_specialist, "specialist", network=world.a.network, brand=brand)
    complete_profile(other_specialist, brand, name="Dr. Other")
    # She is a patient of the sister brand too: the booking is still not on that brand.
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)

    not_found = [
        (other_patient, brand, patient_url(booked)),  # a patient of the brand, not hers
        (other_specialist, brand, specialist_url(booked)),  # another specialist
        (world.a.patient, world.a.sister, patient_url(booked)),  # her, on another brand
        (world.b.patient, world.b.brand, patient_url(booked)),  # another network's patient
        (world.b.specialist, world.b.brand, specialist_url(booked)),
    ]
    for user, on, url in not_found:
        response = client_for(user, on).get(url)
        assert response.status_code == 404, (user.email, url)
    # Every other role: no way in (403 without a role in the portal, else 404), and the
    # room's name never shows.
    for role in ROLES:
        user = world.a.people[role]
        for url, own in ((patient_url(booked), "patient"), (specialist_url(booked), "specialist")):
            response = client_for(user, brand).get(url)
            if role == own:
                assert response.status_code == 200
                continue
            assert response.status_code in (403, 404), (role, url)
            assert "/ws/video/" not in response.content.decode()
    assert client_for(None, brand).get(specialist_url(booked)).status_code == 302  # sign in
    assert client_for(world.a.specialist, brand).post(specialist_url(booked)).status_code == 405


def test_missing_bookings_are_404(world, booked, client_for):
    assert (
        client_for(world.a.specialist, world.a.brand)
        .get("/specialist/bookings/999999/join/")
        .status_code
        == 404
    )


# --- when ------------------------------------------------------------------------------------


def test_early_and_over_explain_and_open_no_room(world, booked, client_for):
    patient = client_for(world.a.patient, world.a.brand)
    specialist = client_for(world.a.specialist, world.a.brand)
    _move(booked, timezone.now() + timedelta(hours=3))
    page = patient.get(patient_url(booked)).content.decode()
    assert "Come back to this page then" in page and "/ws/video/" not in page
    page = specialist.get(specialist_url(booked))
    assert page.status_code == 200
    text = page.content.decode()
    assert "The room opens 10 minutes before the start" in text and "/ws/video/" not in text
    assert f'href="/specialist/bookings/{booked.pk}/"' in text
    assert not Room.objects.filter(booking=booked).exists()

    _move(booked, timezone.now() - timedelta(minutes=50 + 16))  # ended; grace 15 minutes
    assert "This session has ended." in patient.get(patient_url(booked)).content.decode()
    text = specialist.get(specialist_url(booked)).content.decode()
    assert "This session has ended: its video room is closed." in text
    assert "/ws/video/" not in text


def test_an_unconfirmed_booking_has_no_room(world, booked, client_for):
    Booking.objects.filter(pk=booked.pk).update(status="cancelled_by_patient")
    assert client_for(world.a.patient, world.a.brand).get(patient_url(booked)).status_code == 404
    text = (
        client_for(world.a.specialist, world.a.brand).get(specialist_url(booked)).content.decode()
    )
    assert "only confirmed sessions have a video room" in text and "/ws/video/" not in text


def test_missing_consents_send_the_patient_to_sign_and_let_the_specialist_wait(
    world, booked, client_for
):
    require_session_consent(world.a.brand, booked.profile, world.a.specialist)
    response = client_for(world.a.patient, world.a.brand).get(patient_url(booked))
    assert response.status_code == 302 and response["Location"].startswith("/consents/sign/")
    text = (
        client_for(world.a.specialist, world.a.brand).get(specialist_url(booked)).content.decode()
    )
    assert "/ws/video/specialist/" in text
    assert "Your patient still has documents to sign for this session" in text


# --- the booking page ------------------------------------------------------------------------


def test_the_booking_page_offers_the_room_and_says_when_the_patient_waits(
    world, booked, client_for
):
    specialist = client_for(world.a.specialist, world.a.brand)
    detail = f"/specialist/bookings/{booked.pk}/"
    page = specialist.get(detail).content.decode()
    assert f'href="{specialist_url(booked)}">Join video session<' in page
    assert "Your patient is waiting in the video room." not in page

    room = actions.room_for(booked)
    patient_in = actions.do_join(room, world.a.patient, Side.PATIENT)
    page = specialist.get(detail).content.decode()
    assert "Your patient is waiting in the video room." in page
    # The room page says so too, before the socket connects.
    room_page = specialist.get(specialist_url(booked)).content.decode()
    assert "Your patient is already in the room." in room_page

    specialist_in = actions.do_join(room, world.a.specialist, Side.SPECIALIST)
    assert "Your patient is waiting" not in specialist.get(detail).content.decode()
    actions.do_leave(specialist_in)
    actions.do_leave(patient_in)
    assert "Your patient is waiting" not in specialist.get(detail).content.decode()

    _move(booked, timezone.now() + timedelta(hours=3))  # not open yet: no button
    assert "Join video session" not in specialist.get(detail).content.decode()


def test_waiting_notices_lead_into_the_room(world, booked):
    assert portal_path("specialist", "join", booked.pk) == specialist_url(booked)
    assert portal_path("patient", "join", booked.pk) == patient_url(booked)


# --- an ad-hoc call: no booking --------------------------------------------------------------


def test_render_room_without_a_booking(world, booked):
    room = Room.objects.create(
        brand=world.a.brand,
        kind=RoomKind.ADHOC,
        patient=world.a.patient,
        profile=booked.profile,
    )
    request = RequestFactory().get("/", HTTP_HOST="a.test")
    request.user = world.a.specialist
    request.brand = world.a.brand
    membership = world.a.specialist.memberships.get(role="specialist")
    ctx = PortalContext("specialist", world.a.brand, membership, [membership])
    response = render_room(request, ctx, Entry(None, Side.SPECIALIST, room), portal="specialist")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-ws-path="/ws/video/specialist/{room.name}/"' in html
    assert "vr-fact-type" not in html and "The session is open" not in html
    assert world.a.patient.display_name in html
    with pytest.raises(ValueError):
        render_room(request, ctx, Entry(booked, Side.SPECIALIST), portal="specialist")
