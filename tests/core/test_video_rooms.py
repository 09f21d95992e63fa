"""Video rooms: who may enter a booking's room and when (``video/rules.py``), the room of
a booking, attendance, the waiting notice and time attended (``video/actions.py``,
``video/queries.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.notifications.models import Notification
from caredoor.core.video import actions, queries
from caredoor.core.video.models import Attendance, Room, Side
from caredoor.core.video.rules import JoinRefused, booking_for, check_join
from tests.booking_helpers import listed_with_hours, local, make_type, require_session_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(world):
    profile, _ = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile),
        start=local(10),
    )
    return booking


def _move(booking, start):
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=50),
    )
    booking.refresh_from_db()
    return booking


def test_only_the_bookings_two_people_in_their_own_portals(world, booked):
    brand = world.a.brand
    assert booking_for(world.a.patient, brand, "patient", booked.pk).side == Side.PATIENT
    assert booking_for(world.a.specialist, brand, "specialist", booked.pk).side == Side.SPECIALIST
    refused = [
        (world.a.patient, brand, "specialist"),  # the right person, the wrong portal
        (world.a.specialist, brand, "patient"),
        (world.a.operator, brand, "patient"),
        (world.a.org_admin, brand, "specialist"),
        (world.outsider, brand, "patient"),
        (world.b.patient, world.b.brand, "patient"),
        (world.a.patient, world.a.sister, "patient"),  # another brand's host
        (world.a.patient, brand, "organization"),
    ]
    for user, on, portal in refused:
        with pytest.raises(Http404):
            booking_for(user, on, portal, booked.pk)


def _entry(world, booking, who="patient"):
    user = world.a.patient if who == "patient" else world.a.specialist
    return booking_for(user, world.a.brand, who, booking.pk)


def test_the_window_follows_the_brand(world, booked):
    now = timezone.now()
    _move(booked, now + timedelta(minutes=20))
    with pytest.raises(JoinRefused) as early:
        check_join(_entry(world, booked), now)
    assert early.value.code == "early"
    assert early.value.opens == booked.start - timedelta(minutes=10)
    Brand.objects.filter(pk=world.a.brand.pk).update(video_join_lead_minutes=30)
    check_join(_entry(world, booked), now)  # opens 30 minutes ahead now
    _move(booked, now - timedelta(minutes=50 + 16))  # ended 16 minutes ago; grace 15
    with pytest.raises(JoinRefused) as over:
        check_join(_entry(world, booked), now)
    assert over.value.code == "over"


def test_unconfirmed_bookings_have_no_room(world, booked):
    _move(booked, timezone.now())
    Booking.objects.filter(pk=booked.pk).update(status="cancelled_by_patient")
    with pytest.raises(JoinRefused) as refused:
        check_join(_entry(world, booked), timezone.now())
    assert refused.value.code == "not_confirmed"


def test_the_patient_signs_first_the_specialist_may_wait(world, booked):
    require_session_consent(world.a.brand, booked.profile, world.a.specialist)
    _move(booked, timezone.now())
    patient = booking_for(world.a.patient, world.a.brand, "patient", booked.pk)
    specialist = booking_for(world.a.specialist, world.a.brand, "specialist", booked.pk)
    with pytest.raises(JoinRefused) as refused:
        check_join(patient, timezone.now())
    assert refused.value.code == "consents"
    check_join(specialist, timezone.now())


def test_one_room_per_booking_with_an_opaque_name(world, booked):
    room = actions.room_for(booked)
    assert actions.room_for(booked).pk == room.pk
    assert Room.objects.count() == 1
    assert len(room.name) == 32 and int(room.name, 16)  # random hex, names nobody
    assert actions.room_for(_move(booked, timezone.now())).name == room.name


def test_the_specialist_is_told_that_the_patient_waits_once(world, booked):
    room = actions.room_for(booked)
    actions.do_join(room, world.a.patient, Side.PATIENT)
    actions.do_join(room, world.a.patient, Side.PATIENT)  # a second tab
    waiting = Notification.objects.filter(user=world.a.specialist, kind="booking.waiting")
    assert waiting.count() == 1
    assert "waiting" in waiting.get().title
    assert queries.present(room) == {Side.PATIENT}
    # Nobody is told when the specialist is already there.
    Notification.objects.all().delete()
    Attendance.objects.all().delete()
    actions.do_join(room, world.a.specialist, Side.SPECIALIST)
    actions.do_join(room, world.a.patient, Side.PATIENT)
    assert not Notification.objects.filter(kind="booking.waiting").exists()
    assert queries.present(room) == {Side.PATIENT, Side.SPECIALIST}


def test_a_join_ends_the_sides_older_client(world, booked):
    room = actions.room_for(booked)
    t0 = timezone.now() - timedelta(hours=1)
    first = actions.do_join(room, world.a.patient, Side.PATIENT, now=t0)
    doctor = actions.do_join(room, world.a.specialist, Side.SPECIALIST, now=t0)
    second = actions.do_join(room, world.a.patient, Side.PATIENT, now=t0 + timedelta(minutes=5))
    first.refresh_from_db()
    doctor.refresh_from_db()
    assert first.left_at == t0 + timedelta(minutes=5)  # replaced by the newer client
    assert second.left_at is None and doctor.left_at is None  # the other side stays


def test_time_attended_counts_overlapping_joins_once(world, booked):
    """Two clients of one side at once (two processes admitting at the same moment, each
    before the other's join is written) count once."""
    room = actions.room_for(booked)
    t0 = timezone.now() - timedelta(hours=1)
    first = Attendance.objects.create(
        room=room, user=world.a.patient, side=Side.PATIENT, joined_at=t0
    )
    second = Attendance.objects.create(
        room=room, user=world.a.patient, side=Side.PATIENT, joined_at=t0 + timedelta(minutes=10)
    )
    actions.do_leave(first, now=t0 + timedelta(minutes=20))
    actions.do_leave(second, now=t0 + timedelta(minutes=30))
    actions.do_leave(second, now=t0 + timedelta(minutes=45))  # the first leave counts
    back = actions.do_join(room, world.a.patient, Side.PATIENT, now=t0 + timedelta(minutes=40))
    actions.do_leave(back, now=t0 + timedelta(minutes=50))
    doctor = actions.do_join(room, world.a.specialist, Side.SPECIALIST, now=t0)
    actions.do_leave(doctor, now=t0 + timedelta(minutes=50))
    assert queries.attended(room) == {
        Side.PATIENT: timedelta(minutes=40),
        Side.SPECIALIST: timedelta(minutes=50),
    }
    assert queries.present(room) == set()
