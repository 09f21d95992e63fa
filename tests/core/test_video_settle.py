"""Settling video rooms (``video/settle.py``): once a booked room's window has closed,
attendance completes a session both sides attended, asks the specialist to confirm a
patient's no-show (whose confirmation applies the booking's fee), and leaves everything
else alone; stale attendance is closed at the window's close; ad-hoc calls are closed
and settled when their lifetime is over. Run by the Huey job and a management command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from caredoor.core.booking.actions import do_book, do_complete_attended
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.notifications.models import Notification
from caredoor.core.video import actions, queries, settle
from caredoor.core.video.models import Attendance, Outcome, Room, RoomKind, Side
from caredoor.core.video.rules import ADHOC_LIFETIME
from caredoor.core.video.tasks import settle_video_sessions_every_minute
from tests.booking_helpers import listed_with_hours, local, make_type

pytestmark = pytest.mark.django_db


def _book(side):  # type: ignore[no-untyped-def]
    profile, _ = listed_with_hours(side)
    return do_book(
        patient=side.patient, brand=side.brand, session_type=make_type(profile), start=local(10)
    )


def _into_past(booking: Booking, minutes_ago: int = 120) -> Booking:
    """The booking started ``minutes_ago`` (50 minutes long; the brand's grace is 15)."""
    start = timezone.now() - timedelta(minutes=minutes_ago)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    booking.refresh_from_db()
    return booking


@pytest.fixture
def past(world) -> Booking:  # type: ignore[no-untyped-def]
    return _into_past(_book(world.a))


def attend(room: Room, user, side: str, start, minutes: float, after: float = 0) -> Attendance:  # type: ignore[no-untyped-def]
    """``user`` in the room from ``after`` minutes past ``start``, for ``minutes``."""
    joined = start + timedelta(minutes=after)
    row = actions.do_join(room, user, side, now=joined)
    return actions.do_leave(row, now=joined + timedelta(minutes=minutes))


def settle_now(django_capture_on_commit_callbacks) -> int:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        return settle.settle_due()


def test_both_attended_completes_the_session(world, past, django_capture_on_commit_callbacks):
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 50)
    attend(room, world.a.patient, Side.PATIENT, past.start, 45, after=3)
    Notification.objects.all().delete()  # the waiting notice is not what this test is about

    assert settle_now(django_capture_on_commit_callbacks) == 1

    past.refresh_from_db()
    room.refresh_from_db()
    assert past.status == BookingStatus.COMPLETED
    assert room.outcome == Outcome.MET and room.settled_at is not None
    event = AuditEvent.objects.get(action="booking.completed", target_id=str(past.pk))
    assert event.actor is None and event.actor_label == "system"
    assert event.data["by"] == "attendance" and event.data["from"] == BookingStatus.CONFIRMED
    assert AuditEvent.objects.filter(action="video.settled", target_id=str(room.pk)).exists()
    # Both sides learn it: the patient as after any completion, the specialist because
    # they did not record it themselves.
    told = set(
        Notification.objects.filter(kind="booking.completed").values_list("user_id", flat=True)
    )
    assert told == {world.a.patient.pk, world.a.specialist.pk}


def test_a_missing_patient_is_a_question_to_the_specialist(
    world, past, client_for, django_capture_on_commit_callbacks
):
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 20)
    # A patient who connected for 30 seconds did not attend.
    attend(room, world.a.patient, Side.PATIENT, past.start, 0.5, after=25)

    assert settle_now(django_capture_on_commit_callbacks) == 1

    past.refresh_from_db()
    assert past.status == BookingStatus.CONFIRMED  # nothing changes until they confirm
    assert Room.objects.get(pk=room.pk).outcome == Outcome.PATIENT_ABSENT
    check = Notification.objects.get(kind=settle.NO_SHOW_CHECK_KIND)
    assert check.user == world.a.specialist and check.portal == "specialist"
    assert check.url == f"/specialist/bookings/{past.pk}/"
    assert "did not join the video session" in check.title
    assert not Notification.objects.filter(
        user=world.a.patient, kind=settle.NO_SHOW_CHECK_KIND
    ).exists()

    page = client_for(world.a.specialist, world.a.brand).get(check.url)
    text = page.content.decode()
    assert "Your patient did not join the video session. Confirm the no-show?" in text
    assert f'action="/specialist/bookings/{past.pk}/no-show/"' in text
    assert "Video attendance" in text and "Did not join" not in text
    assert "less than a minute" in text  # the patient's 30 seconds
    # The patient's own page shows nothing of it.
    own = client_for(world.a.patient, world.a.brand).get(f"/sessions/{past.pk}/")
    assert own.status_code == 200 and "Confirm the no-show" not in own.content.decode()


def test_the_specialist_confirming_applies_the_no_show_fee(
    world, past, client_for, django_capture_on_commit_callbacks
):
    Booking.objects.filter(pk=past.pk).update(policy={**past.policy, "no_show_fee_percent": 60})
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 30)
    settle_now(django_capture_on_commit_callbacks)
    spec = client_for(world.a.specialist, world.a.brand)
    page = spec.get(f"/specialist/bookings/{past.pk}/").content.decode()
    assert "60% of the price" in page

    answer = spec.post(f"/specialist/bookings/{past.pk}/no-show/")

    assert answer.status_code == 302
    past.refresh_from_db()
    assert past.status == BookingStatus.NO_SHOW and past.fee_percent == 60
    after = spec.get(f"/specialist/bookings/{past.pk}/").content.decode()
    assert "Confirm the no-show?" not in after
    assert "Video attendance" in after  # the summary stays
    question = Notification.objects.get(user=world.a.specialist, kind="booking.no_show_check")
    assert question.read_at is not None  # answered: the badge no longer counts it


def test_nobody_attending_changes_nothing(world, past, django_capture_on_commit_callbacks):
    other = _into_past(_book(world.b))  # a booking whose room was never opened
    room = actions.room_for(past)  # opened, never entered
    Notification.objects.all().delete()
    events = AuditEvent.objects.filter(action__startswith="booking.").count()

    assert settle_now(django_capture_on_commit_callbacks) == 1

    for booking in (past, other):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
    assert Room.objects.get(pk=room.pk).outcome == Outcome.NOBODY
    assert not Room.objects.filter(booking=other).exists()
    assert not Notification.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="booking.").count() == events


def test_a_patient_without_the_specialist_or_apart_changes_nothing(
    world, past, django_capture_on_commit_callbacks
):
    room = actions.room_for(past)
    attend(room, world.a.patient, Side.PATIENT, past.start, 30)
    second = _into_past(_book(world.b))
    apart = actions.room_for(second)
    attend(apart, world.b.patient, Side.PATIENT, second.start, 10)
    attend(apart, world.b.specialist, Side.SPECIALIST, second.start, 10, after=10.5)
    Notification.objects.all().delete()

    assert settle_now(django_capture_on_commit_callbacks) == 2

    assert Room.objects.get(pk=room.pk).outcome == Outcome.SPECIALIST_ABSENT
    assert Room.objects.get(pk=apart.pk).outcome == Outcome.APART
    assert set(Booking.objects.values_list("status", flat=True)) == {BookingStatus.CONFIRMED}
    assert not Notification.objects.exists()


def test_a_cancelled_booking_is_left_alone(world, past, django_capture_on_commit_callbacks):
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 50)
    attend(room, world.a.patient, Side.PATIENT, past.start, 50)
    Booking.objects.filter(pk=past.pk).update(status=BookingStatus.CANCELLED_BY_PATIENT)
    Notification.objects.all().delete()

    settle_now(django_capture_on_commit_callbacks)

    past.refresh_from_db()
    assert past.status == BookingStatus.CANCELLED_BY_PATIENT
    assert Room.objects.get(pk=room.pk).settled_at is not None
    assert not AuditEvent.objects.filter(action="booking.completed").exists()
    assert not Notification.objects.exists()


def test_a_booking_the_specialist_recorded_already_is_left_alone(
    world, past, django_capture_on_commit_callbacks
):
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 50)
    Booking.objects.filter(pk=past.pk).update(status=BookingStatus.COMPLETED)
    Notification.objects.all().delete()
    settle_now(django_capture_on_commit_callbacks)
    assert Room.objects.get(pk=room.pk).outcome == Outcome.PATIENT_ABSENT
    assert not Notification.objects.exists()  # no question about a recorded session


def test_settling_is_idempotent(world, past, django_capture_on_commit_callbacks):
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 50)
    attend(room, world.a.patient, Side.PATIENT, past.start, 50)
    assert settle_now(django_capture_on_commit_callbacks) == 1
    settled_at = Room.objects.get(pk=room.pk).settled_at

    assert settle_now(django_capture_on_commit_callbacks) == 0
    assert settle.settle_room(room) is None
    assert do_complete_attended(past).status == BookingStatus.COMPLETED  # a no-op now

    assert Room.objects.get(pk=room.pk).settled_at == settled_at
    assert AuditEvent.objects.filter(action="booking.completed").count() == 1
    assert AuditEvent.objects.filter(action="video.settled").count() == 1
    assert Notification.objects.filter(kind="booking.completed").count() == 2


def test_each_brand_settles_after_its_own_window(world, django_capture_on_commit_callbacks):
    """A's window is over; B keeps its room open two hours after the end: B's session,
    attended the same way at the same time, is not settled, and nobody of B is told."""
    a = _into_past(_book(world.a), minutes_ago=100)
    b = _into_past(_book(world.b), minutes_ago=100)
    Brand.objects.filter(pk=world.b.brand.pk).update(video_join_grace_minutes=120)
    for booking, side in ((a, world.a), (b, world.b)):
        room = actions.room_for(booking)
        attend(room, side.specialist, Side.SPECIALIST, booking.start, 30)
    Notification.objects.all().delete()

    assert settle_now(django_capture_on_commit_callbacks) == 1

    assert Room.objects.get(booking=a).outcome == Outcome.PATIENT_ABSENT
    assert Room.objects.get(booking=b).settled_at is None
    assert set(Notification.objects.values_list("user_id", flat=True)) == {world.a.specialist.pk}


def test_not_before_the_window_has_closed(world, django_capture_on_commit_callbacks):
    booking = _into_past(_book(world.a), minutes_ago=60)  # ended 10 minutes ago; grace 15
    room = actions.room_for(booking)
    attend(room, world.a.specialist, Side.SPECIALIST, booking.start, 50)
    attend(room, world.a.patient, Side.PATIENT, booking.start, 50)
    assert settle_now(django_capture_on_commit_callbacks) == 0
    assert settle.settle_room(room) is None
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_stale_attendance_ends_when_the_window_closed(
    world, past, django_capture_on_commit_callbacks
):
    """A server that crashed never recorded the leaves: they count until the window's
    close (end + 15 minutes), not until now."""
    room = actions.room_for(past)
    actions.do_join(room, world.a.specialist, Side.SPECIALIST, now=past.start)
    actions.do_join(room, world.a.patient, Side.PATIENT, now=past.start + timedelta(minutes=5))

    settle_now(django_capture_on_commit_callbacks)

    closes = past.end + timedelta(minutes=15)
    assert set(Attendance.objects.values_list("left_at", flat=True)) == {closes}
    durations = queries.session_durations(room)
    assert durations.specialist == timedelta(minutes=65)
    assert durations.patient == durations.together == timedelta(minutes=60)
    past.refresh_from_db()
    assert past.status == BookingStatus.COMPLETED


def test_session_durations_count_the_time_together(world, past):
    room = actions.room_for(past)
    t0 = past.start
    attend(room, world.a.specialist, Side.SPECIALIST, t0, 10)
    attend(room, world.a.specialist, Side.SPECIALIST, t0, 20, after=5)  # a second tab
    attend(room, world.a.specialist, Side.SPECIALIST, t0, 10, after=40)
    attend(room, world.a.patient, Side.PATIENT, t0, 30, after=15)
    durations = queries.session_durations(room)
    assert durations.specialist == timedelta(minutes=35)
    assert durations.patient == timedelta(minutes=30)
    assert durations.together == timedelta(minutes=15)  # 15-25 and 40-45
    assert durations.patient_joined == t0 + timedelta(minutes=15)
    assert durations.specialist_joined == t0


def test_an_expired_adhoc_call_is_closed_and_settled(world, django_capture_on_commit_callbacks):
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=True)
    brand = Brand.objects.get(pk=world.a.brand.pk)
    profile = _book(world.a).profile  # a booking starts the care relationship
    room = actions.do_start_adhoc(brand, profile, world.a.patient)
    started = timezone.now() - ADHOC_LIFETIME - timedelta(minutes=5)
    Room.objects.filter(pk=room.pk).update(created_at=started)
    attend(room, world.a.specialist, Side.SPECIALIST, started, 20)
    actions.do_join(room, world.a.patient, Side.PATIENT, now=started + timedelta(minutes=2))

    assert settle_now(django_capture_on_commit_callbacks) == 1

    room.refresh_from_db()
    assert room.kind == RoomKind.ADHOC and room.outcome == Outcome.MET
    assert room.closed_at == started + ADHOC_LIFETIME
    assert Attendance.objects.get(side=Side.PATIENT).left_at == started + ADHOC_LIFETIME


def test_the_job_and_the_command_settle(world, past, django_capture_on_commit_callbacks):
    room = actions.room_for(past)
    attend(room, world.a.specialist, Side.SPECIALIST, past.start, 50)
    attend(room, world.a.patient, Side.PATIENT, past.start, 50)
    with django_capture_on_commit_callbacks(execute=True):
        assert settle_video_sessions_every_minute.call_local() == 1
    second = _into_past(_book(world.b))
    second_room = actions.room_for(second)
    attend(second_room, world.b.specialist, Side.SPECIALIST, second.start, 50)
    attend(second_room, world.b.patient, Side.PATIENT, second.start, 50)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("settle_video_sessions", stdout=(out := _Out()))
    assert "Settled 1 video rooms." in out.text
    second.refresh_from_db()
    assert second.status == BookingStatus.COMPLETED


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
