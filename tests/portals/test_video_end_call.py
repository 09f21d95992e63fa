""" "End the call" on the room page of an ad-hoc call: only the call's specialist gets it
(``render_room(extra={"end_url": ...})``), as a POST form with a CSRF token to the end
view, next to Leave and again after leaving; video.js leaves the socket before posting
(the browser part is in tests/e2e/test_video_end_call.py). Booked sessions and the
patient's page have no such button."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.video.actions import do_start_adhoc
from caredoor.core.video.models import Room
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.conftest import host_of

pytestmark = pytest.mark.django_db

FORM = re.compile(
    r'<form method="post" action="(?P<action>[^"]+)" id="vr-end-form" hidden>'
    r'<input type="hidden" name="csrfmiddlewaretoken" value="(?P<token>[^"]+)"></form>'
)


@pytest.fixture
def brand(world) -> Brand:  # type: ignore[no-untyped-def]
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=True)
    return Brand.objects.get(pk=world.a.brand.pk)


@pytest.fixture
def booking(world, brand) -> Booking:  # type: ignore[no-untyped-def]
    profile, _ = listed_with_hours(world.a)
    return do_book(
        patient=world.a.patient, brand=brand, session_type=make_type(profile), start=local(10)
    )


@pytest.fixture
def call(world, brand, booking) -> Room:  # type: ignore[no-untyped-def]
    rel = CareRelationship.objects.get(patient=world.a.patient, brand=brand)
    return do_start_adhoc(brand, rel.profile, world.a.patient)


def strict_client(user, brand) -> Client:  # type: ignore[no-untyped-def]
    """A client that checks CSRF tokens, as browsers' requests are checked."""
    client = Client(HTTP_HOST=host_of(brand), enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_the_specialist_ends_the_call_from_the_room_page(world, brand, call):
    spec = strict_client(world.a.specialist, brand)
    page = spec.get(f"/specialist/calls/{call.name}/").content.decode()
    form = FORM.search(page)
    assert form, "the page carries the end form"
    assert form["action"] == f"/specialist/calls/{call.name}/end/"
    # Two buttons submit it: next to Leave, and after leaving; both say what it does.
    buttons = re.findall(r'<button type="submit" form="vr-end-form"[^>]*>', page)
    assert len(buttons) == 2
    assert all('aria-describedby="vr-end-note"' in button for button in buttons)
    controls = page[page.index('aria-label="Call controls"') :]
    assert controls.index('id="vr-hangup"') < controls.index('id="vr-end"')
    assert "End the call" in page
    assert "Ends the call for both of you: nobody can join it again." in page
    strings = json.loads(re.search(r'id="video-strings"[^>]*>(.*?)</script>', page)[1])
    assert strings["ending"] == "Ending the call…"  # the script's words while it leaves
    # No inline script or style (the strict CSP).
    assert "<script>" not in page and " style=" not in page and "onsubmit" not in page

    # Without the token the post is refused; with it the call ends.
    assert spec.post(form["action"]).status_code == 403
    call.refresh_from_db()
    assert call.closed_at is None
    answer = spec.post(form["action"], {"csrfmiddlewaretoken": form["token"]})
    assert answer.status_code == 302
    call.refresh_from_db()
    assert call.closed_at is not None
    assert AuditEvent.objects.filter(action="video.adhoc_ended").count() == 1
    ended = spec.get(f"/specialist/calls/{call.name}/").content.decode()
    assert "This call has ended." in ended and "vr-end-form" not in ended


def test_the_patient_has_no_end_button(world, brand, call, client_for):
    page = client_for(world.a.patient, brand).get(f"/calls/{call.name}/").content.decode()
    assert "/ws/video/patient/" in page  # the room itself
    assert "vr-end-form" not in page and "End the call" not in page


def test_a_booked_session_has_no_end_button(world, brand, booking, client_for):
    start = timezone.now() + timedelta(minutes=5)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    page = client_for(world.a.specialist, brand).get(f"/specialist/bookings/{booking.pk}/join/")
    html = page.content.decode()
    assert "/ws/video/specialist/" in html
    assert "vr-end-form" not in html and "End the call" not in html
