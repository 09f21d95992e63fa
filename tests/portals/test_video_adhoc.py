"""Ad-hoc video calls (``video.actions.do_start_adhoc``, ``portals/*/video_adhoc.py``):
only the specialist of an active care relationship starts one, on a brand that allows
them, from that brand's site; the patient is told, live; one open call per pair; only
the two people enter it, in their own portals on its brand; an ended or expired call is
refused; the specialist ends it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.brands.models import Brand
from caredoor.core.care.actions import do_end
from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.notifications.actions import push_notice
from caredoor.core.notifications.models import Notification
from caredoor.core.video import actions
from caredoor.core.video.models import Room, RoomKind
from caredoor.core.video.rules import ADHOC_LIFETIME, JoinRefused, check_join, room_entry
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type, require_session_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand(world) -> Brand:  # type: ignore[no-untyped-def]
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=True)
    return Brand.objects.get(pk=world.a.brand.pk)


@pytest.fixture
def rel(world, brand) -> CareRelationship:  # type: ignore[no-untyped-def]
    """A's patient and specialist in care on a.brand (their first booking started it)."""
    profile, _ = listed_with_hours(world.a)
    do_book(patient=world.a.patient, brand=brand, session_type=make_type(profile), start=local(10))
    return CareRelationship.objects.get(patient=world.a.patient, profile=profile, brand=brand)


@pytest.fixture
def spec(world, brand, client_for):  # type: ignore[no-untyped-def]
    return client_for(world.a.specialist, brand)


@pytest.fixture
def pat(world, brand, client_for):  # type: ignore[no-untyped-def]
    return client_for(world.a.patient, brand)


def start(spec, rel, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer = spec.post(f"/specialist/patients/{rel.pk}/call/")
    return answer, callbacks


def test_the_specialist_starts_a_call_and_the_patient_is_told_live(
    world, rel, spec, pat, django_capture_on_commit_callbacks
):
    record = spec.get(f"/specialist/patients/{rel.pk}/").content.decode()
    assert "Start a video call" in record

    answer, callbacks = start(spec, rel, django_capture_on_commit_callbacks)

    room = Room.objects.get()
    assert room.kind == RoomKind.ADHOC and room.booking is None
    assert (room.brand, room.patient, room.profile) == (rel.brand, world.a.patient, rel.profile)
    assert answer.status_code == 302 and answer["Location"] == f"/specialist/calls/{room.name}/"
    told = Notification.objects.get(kind=actions.CALL_KIND)
    assert told.user == world.a.patient and told.portal == "patient"
    assert told.url == f"/calls/{room.name}/"
    assert told.title.startswith("Dr. Listed is calling you")
    # Pushed to the patient's open pages on commit (the header badge and the notice).
    assert any(getattr(cb, "func", None) is push_notice for cb in callbacks)
    event = AuditEvent.objects.get(action="video.adhoc_started")
    assert event.actor == world.a.specialist and event.target_id == str(room.pk)
    # Both reach the call: the room page with their own signaling socket.
    room_page = spec.get(answer["Location"])
    assert room_page.status_code == 200
    assert f'data-ws-path="/ws/video/specialist/{room.name}/"' in room_page.content.decode()
    room_page = pat.get(told.url)
    assert room_page.status_code == 200
    assert f'data-ws-path="/ws/video/patient/{room.name}/"' in room_page.content.decode()
    # The patient's record now offers the open call instead of a new one.
    record = spec.get(f"/specialist/patients/{rel.pk}/").content.decode()
    assert "Rejoin the video call" in record and "Start a video call" not in record


def test_starting_again_leads_into_the_open_call(
    world, rel, spec, django_capture_on_commit_callbacks
):
    first, _ = start(spec, rel, django_capture_on_commit_callbacks)
    again, _ = start(spec, rel, django_capture_on_commit_callbacks)
    assert first["Location"] == again["Location"]
    assert Room.objects.count() == 1
    # One unread notice for the call, refreshed.
    assert Notification.objects.filter(kind=actions.CALL_KIND, read_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="video.adhoc_started").count() == 1


def test_only_with_the_brand_flag(world, rel, spec, brand):
    Brand.objects.filter(pk=brand.pk).update(video_adhoc_calls=False)
    assert spec.post(f"/specialist/patients/{rel.pk}/call/").status_code == 404
    assert "Start a video call" not in spec.get(f"/specialist/patients/{rel.pk}/").content.decode()
    assert not Room.objects.exists()


def test_only_while_the_care_is_active(world, rel, spec):
    do_end(rel, reason="ended", actor=world.a.specialist)
    assert spec.post(f"/specialist/patients/{rel.pk}/call/").status_code == 404
    assert "Start a video call" not in spec.get(f"/specialist/patients/{rel.pk}/").content.decode()
    assert not Room.objects.exists()


def test_only_the_relationships_specialist_and_only_on_its_brand(world, rel, client_for, brand):
    other = factories.make_user("other.specialist@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    refused = [
        (client_for(world.a.patient, brand), 403),  # a patient cannot start a call
        (client_for(other, brand), 404),  # not their relationship
        (client_for(world.a.specialist, world.a.sister), 404),  # another brand's site
        (client_for(world.b.specialist, world.b.brand), 404),
    ]
    for client, status in refused:
        assert client.post(f"/specialist/patients/{rel.pk}/call/").status_code == status
    assert not Room.objects.exists()
    # From the sister site the record says where calls start.
    sister = client_for(world.a.specialist, world.a.sister).get(f"/specialist/patients/{rel.pk}/")
    assert "Video calls with this patient start on Brand A" in sister.content.decode()


def test_only_the_two_people_enter_in_their_own_portals(
    world, rel, spec, brand, client_for, django_capture_on_commit_callbacks
):
    start(spec, rel, django_capture_on_commit_callbacks)
    room = Room.objects.get()
    stranger = factories.make_user("stranger.patient@example.test")
    factories.grant(stranger, "patient", network=world.a.network, brand=brand)
    assert client_for(stranger, brand).get(f"/calls/{room.name}/").status_code == 404
    assert (
        client_for(world.a.patient, brand).get(f"/specialist/calls/{room.name}/").status_code == 403
    )
    assert client_for(world.a.specialist, brand).get(f"/calls/{room.name}/").status_code == 403
    for user in (world.b.patient, world.b.specialist):
        client = client_for(user, world.b.brand)
        assert client.get(f"/calls/{room.name}/").status_code in (403, 404)
        assert client.get(f"/specialist/calls/{room.name}/").status_code in (403, 404)
    assert client_for(world.a.patient, brand).get("/calls/nosuchroom/").status_code == 404
    with pytest.raises(Exception) as refused:
        room_entry(world.a.patient, world.a.sister, "patient", room.name)
    assert refused.typename == "Http404"
    # A booked session's room is not entered this way.
    booked = actions.room_for(rel.patient.bookings.first())
    assert client_for(world.a.patient, brand).get(f"/calls/{booked.name}/").status_code == 404
    assert spec.get(f"/specialist/calls/{booked.name}/").status_code == 404


def test_an_ended_call_is_refused_and_a_new_one_can_start(
    world, rel, spec, pat, django_capture_on_commit_callbacks
):
    start(spec, rel, django_capture_on_commit_callbacks)
    room = Room.objects.get()
    assert pat.post(f"/specialist/calls/{room.name}/end/").status_code == 403  # not hers to end

    ended = spec.post(f"/specialist/calls/{room.name}/end/")

    assert ended.status_code == 302 and ended["Location"] == f"/specialist/patients/{rel.pk}/"
    room.refresh_from_db()
    assert room.closed_at is not None
    assert AuditEvent.objects.filter(action="video.adhoc_ended").count() == 1
    # The call's notice is read: it leads nowhere now.
    assert not Notification.objects.filter(kind=actions.CALL_KIND, read_at__isnull=True).exists()
    page = pat.get(f"/calls/{room.name}/")
    assert page.status_code == 200 and "This call has ended." in page.content.decode()
    assert "This call has ended." in spec.get(f"/specialist/calls/{room.name}/").content.decode()
    with pytest.raises(JoinRefused) as refused:
        check_join(room_entry(world.a.patient, rel.brand, "patient", room.name), timezone.now())
    assert refused.value.code == "closed"
    # Ending twice changes nothing; calling again opens a new room.
    spec.post(f"/specialist/calls/{room.name}/end/")
    assert AuditEvent.objects.filter(action="video.adhoc_ended").count() == 1
    again, _ = start(spec, rel, django_capture_on_commit_callbacks)
    assert Room.objects.count() == 2 and room.name not in again["Location"]


def test_an_expired_call_is_refused_and_replaced(
    world, rel, spec, pat, django_capture_on_commit_callbacks
):
    start(spec, rel, django_capture_on_commit_callbacks)
    room = Room.objects.get()
    Room.objects.filter(pk=room.pk).update(
        created_at=timezone.now() - ADHOC_LIFETIME - timedelta(minutes=1)
    )
    assert "This call has ended." in pat.get(f"/calls/{room.name}/").content.decode()
    assert "Start a video call" in spec.get(f"/specialist/patients/{rel.pk}/").content.decode()

    start(spec, rel, django_capture_on_commit_callbacks)

    room.refresh_from_db()
    assert room.closed_at == room.created_at + ADHOC_LIFETIME  # closed when it expired
    assert Room.objects.filter(closed_at__isnull=True).count() == 1


def test_the_call_ends_with_the_care_relationship(
    world, rel, spec, pat, django_capture_on_commit_callbacks
):
    start(spec, rel, django_capture_on_commit_callbacks)
    room = Room.objects.get()
    do_end(rel, reason="ended", actor=world.a.specialist)
    assert "This call has ended." in pat.get(f"/calls/{room.name}/").content.decode()


def test_the_patient_signs_what_a_session_needs_first(
    world, rel, spec, pat, brand, django_capture_on_commit_callbacks
):
    require_session_consent(brand, rel.profile, world.a.specialist)
    start(spec, rel, django_capture_on_commit_callbacks)
    room = Room.objects.get()
    answer = pat.get(f"/calls/{room.name}/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/consents/sign/")
    assert f"next=%2Fcalls%2F{room.name}%2F" in answer["Location"]
    assert spec.get(f"/specialist/calls/{room.name}/").status_code == 200  # may wait
