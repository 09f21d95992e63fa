"""Booking notifications: each event reaches the right side(s), in the recipient's
language and time zone, by email and in-app, only after the action commits, without
health data; a failing mail server never breaks the action and the message is retried."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.formats import date_format

from caredoor.core.booking import notify, proposals, requests
from caredoor.core.booking.actions import do_book, do_cancel, do_complete, do_reschedule
from caredoor.core.booking.expiry import expire_overdue
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.notifications.models import Delivery, DeliveryState, Notification
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from tests.specialist_helpers import approved_and_listed

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
REASON = "panic attacks since my divorce"  # stands for health data in a free-text field


@pytest.fixture
def setup(world):  # type: ignore[no-untyped-def]
    """A specialist listed on a.brand (open 09-17 Berlin), a German patient living in Tokyo."""
    profile, _listings = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    session_type = SessionType.objects.create(
        profile=profile,
        name="Erstgespräch",
        duration_minutes=50,
        slot_step_minutes=15,
        min_notice_minutes=60,
        horizon_days=60,
    )
    patient = world.a.patient
    patient.language, patient.time_zone = "de", "Asia/Tokyo"
    patient.save()
    assert "de" in world.a.brand.languages
    return world, profile, session_type


def berlin(hour: int, days: int = 7) -> datetime:
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), BERLIN)


def sent_to(world) -> dict[str, mail.EmailMessage]:  # type: ignore[no-untyped-def]
    """The outbox by side; each side gets at most one message per event."""
    by_address = {}
    for message in mail.outbox:
        (address,) = message.to
        assert address not in by_address, f"two messages to {address}"
        by_address[address] = message
    sides = {world.a.patient.email: "patient", world.a.specialist.email: "specialist"}
    assert set(by_address) <= set(sides), by_address.keys()
    return {sides[a]: m for a, m in by_address.items()}


@pytest.fixture
def act(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """``act(fn)``: run an action as a request would, commit hooks included; returns what
    it returns with a fresh outbox."""

    def run(fn):  # type: ignore[no-untyped-def]
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return run


def book(world, session_type, start):  # type: ignore[no-untyped-def]
    return do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=start
    )


def invite_methods(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [mimetype.split("method=")[-1] for _name, _content, mimetype in message.attachments]


# --- who hears of what --------------------------------------------------------------------


def test_a_booking_reaches_both_sides_in_their_language_and_zone(setup, act):
    world, _profile, session_type = setup
    start = berlin(10)
    booking = act(lambda: book(world, session_type, start))
    sent = sent_to(world)
    assert set(sent) == {"patient", "specialist"}

    # The patient: German, Tokyo time, the zone named.
    local = start.astimezone(TOKYO)
    with translation.override("de"):
        month, weekday = date_format(local, "F"), date_format(local, "l")
    patient_mail = sent["patient"]
    for text in (patient_mail.subject, patient_mail.body):
        assert f"{local:%H:%M} (Asia/Tokyo)" in text
        assert month in text and weekday in text
    assert "Europe/Berlin" not in patient_mail.body
    assert "Dr. Listed" in patient_mail.body and "Erstgespräch" in patient_mail.body
    assert patient_mail.from_email.startswith("Brand A <")
    assert f"http://{world.a.brand.domains.get().host}:" in patient_mail.body

    # The specialist: English (no language set), their profile's zone.
    specialist_mail = sent["specialist"]
    assert "(Europe/Berlin)" in specialist_mail.body
    with translation.override("en"):
        assert date_format(start, "l") in specialist_mail.body
    # The specialist's email does not name the patient.
    assert world.a.patient.name not in specialist_mail.body
    assert world.a.patient.name not in specialist_mail.subject
    assert world.a.patient.email not in specialist_mail.body

    # In-app: one each, in the right portal, titled like the email, linking into it.
    patient_note = Notification.objects.get(user=world.a.patient)
    assert (patient_note.portal, patient_note.brand, patient_note.kind) == (
        "patient",
        world.a.brand,
        "booking.booked",
    )
    assert patient_note.title == patient_mail.subject and patient_note.read_at is None
    specialist_note = Notification.objects.get(user=world.a.specialist)
    assert specialist_note.portal == "specialist"
    assert specialist_note.url.startswith("/specialist/")
    assert not patient_note.url.startswith("/specialist/")
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2
    assert booking.status == BookingStatus.CONFIRMED


def test_the_booking_invite_is_attached_when_the_writer_is_there(setup, act):
    world, _profile, session_type = setup
    act(lambda: book(world, session_type, berlin(10)))
    sent = sent_to(world)
    assert invite_methods(sent["patient"]) == ["REQUEST"]
    assert invite_methods(sent["specialist"]) == ["REQUEST"]
    assert "Kalender" in sent["patient"].body  # the patient reads German


def test_without_the_invite_writer_the_email_goes_without_one(setup, act, monkeypatch):
    world, _profile, session_type = setup
    monkeypatch.setattr(notify, "invite_writer", lambda: None)
    act(lambda: book(world, session_type, berlin(10)))
    sent = sent_to(world)
    assert set(sent) == {"patient", "specialist"}
    assert sent["patient"].attachments == []
    assert "calendar" not in sent["patient"].body


@pytest.mark.parametrize("by", ["patient", "specialist"])
def test_a_cancellation_reaches_both_sides_without_the_reason(setup, act, by):
    world, _profile, session_type = setup
    booking = act(lambda: book(world, session_type, berlin(11)))
    actor = world.a.patient if by == "patient" else world.a.specialist
    act(lambda: do_cancel(booking, by=by, actor=actor, reason=REASON))
    sent = sent_to(world)
    assert set(sent) == {"patient", "specialist"}
    for message in sent.values():
        assert "panic" not in message.body and "divorce" not in message.body
        assert "panic" not in message.subject
        for _name, content, _type in message.attachments:
            text = content if isinstance(content, str) else content.decode()
            assert "panic" not in text and "divorce" not in text
        if notify.invite_writer() is not None:
            assert invite_methods(message) == ["CANCEL"]
    notes = Notification.objects.filter(kind="booking.cancelled")
    assert {n.user for n in notes} == {world.a.patient, world.a.specialist}
    assert not any("panic" in n.title for n in notes)


def test_a_move_reaches_both_sides_with_the_old_and_new_time(setup, act):
    world, _profile, session_type = setup
    booking = act(lambda: book(world, session_type, berlin(10)))
    new_start = berlin(14, days=8)
    moved = act(lambda: do_reschedule(booking, actor=world.a.specialist, start=new_start))
    sent = sent_to(world)
    assert set(sent) == {"patient", "specialist"}
    assert f"{new_start.astimezone(TOKYO):%H:%M} (Asia/Tokyo)" in sent["patient"].subject
    old_local = booking.start.astimezone(TOKYO)
    assert f"{old_local:%H:%M} (Asia/Tokyo)" in sent["patient"].body
    assert Notification.objects.filter(kind="booking.rescheduled").count() == 2
    if notify.invite_writer() is not None:
        # The new event, and the removal of the old one (each booking has its own UID).
        assert invite_methods(sent["patient"]) == ["REQUEST", "CANCEL"]
    assert moved.rescheduled_from_id == booking.pk


def test_proposals_reach_the_other_side_and_the_actor_only_with_an_invite(setup, act):
    world, _profile, session_type = setup
    propose = lambda: proposals.do_propose(  # noqa: E731
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=berlin(10),
    )
    proposal = act(propose)
    assert set(sent_to(world)) == {"patient"}
    assert "schlägt eine Sitzung vor" in sent_to(world)["patient"].subject  # German patient

    act(lambda: proposals.do_accept_proposal(proposal, actor=world.a.patient))
    assert set(sent_to(world)) == {"patient", "specialist"}  # confirmed: both, with invite

    second = act(
        lambda: proposals.do_propose(
            actor=world.a.specialist,
            brand=world.a.brand,
            patient=world.a.patient,
            session_type=session_type,
            start=berlin(12),
        )
    )
    act(lambda: proposals.do_decline_proposal(second, actor=world.a.patient))
    assert set(sent_to(world)) == {"specialist"}

    third = act(
        lambda: proposals.do_propose(
            actor=world.a.specialist,
            brand=world.a.brand,
            patient=world.a.patient,
            session_type=session_type,
            start=berlin(14),
        )
    )
    act(lambda: proposals.do_withdraw_proposal(third, actor=world.a.specialist))
    assert set(sent_to(world)) == {"patient"}


def test_requests_reach_the_other_side(setup, act):
    world, _profile, session_type = setup
    window = (berlin(9), berlin(12))
    ask = lambda: requests.do_request_availability(  # noqa: E731
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, preferred=[window]
    )
    first = act(ask)
    sent = sent_to(world)
    assert set(sent) == {"specialist"}
    assert "Erstgespräch" in sent["specialist"].subject
    act(lambda: requests.do_decline_request(first, actor=world.a.specialist))
    assert set(sent_to(world)) == {"patient"}
    second = act(ask)
    act(lambda: requests.do_withdraw_request(second, actor=world.a.patient))
    assert set(sent_to(world)) == {"specialist"}


def test_system_events_reach_both_sides(setup, act):
    world, _profile, session_type = setup
    proposal = act(
        lambda: proposals.do_propose(
            actor=world.a.specialist,
            brand=world.a.brand,
            patient=world.a.patient,
            session_type=session_type,
            start=berlin(10),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    )
    ask = act(
        lambda: requests.do_request_availability(
            patient=world.a.patient,
            brand=world.a.brand,
            session_type=session_type,
            preferred=[(berlin(13, days=9), berlin(16, days=9))],
        )
    )
    later = timezone.now() + timedelta(days=3)
    moved = act(lambda: expire_overdue(later))
    assert moved == 2
    kinds = {(n.kind, n.user_id) for n in Notification.objects.filter(created_at__isnull=False)}
    for kind in ("booking.expired", "request.request_expired"):
        assert (kind, world.a.patient.pk) in kinds and (kind, world.a.specialist.pk) in kinds
    assert len(mail.outbox) == 4
    proposal.refresh_from_db()
    ask.refresh_from_db()
    assert proposal.status == BookingStatus.EXPIRED


def test_completing_a_session_tells_the_patient(setup, act):
    world, _profile, session_type = setup
    booking = act(lambda: book(world, session_type, berlin(10)))
    now = timezone.now()
    past = {"start": now - timedelta(hours=2), "end": now - timedelta(hours=1)}
    Booking.objects.filter(pk=booking.pk).update(
        **past, blocked_start=past["start"], blocked_end=past["end"]
    )
    act(lambda: do_complete(Booking.objects.get(pk=booking.pk), actor=world.a.specialist))
    assert set(sent_to(world)) == {"patient"}


def test_a_series_is_one_notification_listing_its_dates(setup, act):
    world, _profile, session_type = setup
    from caredoor.core.booking.series import do_cancel_series_from, do_create_series

    first = berlin(10)
    series = act(
        lambda: do_create_series(
            actor=world.a.specialist,
            brand=world.a.brand,
            patient=world.a.patient,
            session_type=session_type,
            first_start=first,
            interval_weeks=1,
            count=3,
        )
    )
    sent = sent_to(world)
    assert set(sent) == {"patient", "specialist"}  # scheduled: the actor gets the invite
    starts = list(series.bookings.order_by("start").values_list("start", flat=True))
    assert len(starts) == 3
    body = sent["patient"].body
    for start in starts:
        assert f"{start.astimezone(TOKYO):%H:%M} (Asia/Tokyo)" in body
    with translation.override("de"):
        for start in starts:
            assert date_format(start.astimezone(TOKYO), "j. F Y") in body

    second = series.bookings.order_by("start")[1]
    act(lambda: do_cancel_series_from(second, actor=world.a.specialist, reason=REASON))
    sent = sent_to(world)
    assert set(sent) == {"patient", "specialist"}
    body = sent["patient"].body
    assert "panic" not in body
    assert f"{starts[2].astimezone(TOKYO):%H:%M} (Asia/Tokyo)" in body  # cancelled with it
    with translation.override("de"):
        assert date_format(starts[0].astimezone(TOKYO), "j. F Y") not in body  # still on


# --- only after commit --------------------------------------------------------------------


def test_nothing_is_sent_when_the_action_rolls_back(setup, django_capture_on_commit_callbacks):
    world, _profile, session_type = setup
    mail.outbox.clear()

    class Abort(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abort),
        transaction.atomic(),
    ):
        book(world, session_type, berlin(10))
        assert Delivery.objects.count() == 2  # the outbox rows, inside the transaction
        raise Abort
    assert callbacks == []
    assert mail.outbox == []
    assert not Delivery.objects.exists()
    assert not Notification.objects.exists()
    assert not Booking.objects.exists()


def test_nothing_is_sent_before_the_commit(setup, django_capture_on_commit_callbacks):
    world, _profile, session_type = setup
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        book(world, session_type, berlin(10))
    assert mail.outbox == [] and not Notification.objects.exists()
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.PENDING}
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 2


def test_the_same_event_is_delivered_once_however_often_it_is_run(setup, act):
    world, _profile, session_type = setup
    act(lambda: book(world, session_type, berlin(10)))
    keys = list(Delivery.objects.values_list("key", flat=True))
    mail.outbox.clear()
    assert set(notify.deliver(keys).values()) == {DeliveryState.SENT}
    assert notify.retry_notifications(timezone.now() + timedelta(hours=1)) == {}
    assert mail.outbox == []
    assert Notification.objects.count() == 2


# --- a failing mail server ------------------------------------------------------------------


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("smtp down: patient@example.test")


def test_a_failing_mail_server_does_not_break_the_action_and_is_retried(setup, act, caplog):
    world, _profile, session_type = setup
    with override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend"):
        booking = act(lambda: book(world, session_type, berlin(10)))
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
    assert mail.outbox == []
    rows = Delivery.objects.all()
    assert {r.state for r in rows} == {DeliveryState.FAILED}
    assert {r.error for r in rows} == {"ConnectionRefusedError"}
    # In-app notifications do not wait for the mail server.
    assert Notification.objects.count() == 2
    logged = caplog.text
    assert "not sent: ConnectionRefusedError" in logged
    assert "example.test" not in logged and "Erstgespräch" not in logged

    # Too early for a retry; then the retry sends each once, without a second in-app note.
    assert notify.retry_notifications(timezone.now()) == {}
    later = timezone.now() + timedelta(minutes=3)
    assert set(notify.retry_notifications(later).values()) == {DeliveryState.SENT}
    assert set(sent_to(world)) == {"patient", "specialist"}
    assert Notification.objects.count() == 2
    assert {r.attempts for r in Delivery.objects.all()} == {2}


def test_a_retry_never_sends_a_message_the_booking_has_overtaken(setup, act):
    world, _profile, session_type = setup
    with override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend"):
        booking = act(lambda: book(world, session_type, berlin(10)))
    act(lambda: do_cancel(booking, by="patient", actor=world.a.patient))
    # Only cancellations (the patient reads German, the specialist English).
    assert {m.subject.split(":")[0] for m in mail.outbox} == {"Cancelled", "Storniert"}
    mail.outbox.clear()
    outcome = notify.retry_notifications(timezone.now() + timedelta(minutes=3))
    assert set(outcome.values()) == {DeliveryState.DROPPED}
    assert mail.outbox == []  # no invite that would bring the cancelled session back


def test_an_outbox_row_left_by_a_crash_is_sent_by_the_sweeper(setup, act):
    world, _profile, session_type = setup
    mail.outbox.clear()
    # The action commits, then the process dies before its commit hook runs.
    book(world, session_type, berlin(10))
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.PENDING}
    assert notify.retry_notifications(timezone.now()) == {}  # within the grace period
    later = timezone.now() + timedelta(minutes=2)
    assert set(notify.retry_notifications(later).values()) == {DeliveryState.SENT}
    assert set(sent_to(world)) == {"patient", "specialist"}


def test_unknown_events_and_sides_are_refused(db):
    booking = Booking(pk=1, status_changed_at=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        notify.booking_event("exploded", booking, by="patient")
    with pytest.raises(ValueError):
        notify.booking_event(notify.BOOKED, booking, by="nurse")  # type: ignore[arg-type]
