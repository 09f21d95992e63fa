"""Session reminders through a real SMTP server: on time, once, only for confirmed
bookings, for a moved booking's new time only -- and exactly once even when the sending
process is killed in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from caredoor.core.booking.models import Booking, BookingPolicy, BookingStatus
from caredoor.core.booking.reminders import send_due_reminders
from caredoor.core.notifications.actions import LEASE
from caredoor.core.notifications.models import Delivery, DeliveryState, Notification
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.actions import do_register_specialist
from tests.smtp_server import django_smtp, smtp_server

ROOT = Path(__file__).resolve().parents[2]
DAY, HOUR, MINUTE, SECOND = (
    timedelta(days=1),
    timedelta(hours=1),
    timedelta(minutes=1),
    timedelta(seconds=1),
)


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with smtp_server() as server, django_smtp(server):
        yield server


@pytest.fixture
def session_type(world) -> SessionType:
    profile = do_register_specialist(world.a.specialist, world.a.brand)
    return SessionType.objects.create(profile=profile, name="Follow-up", duration_minutes=50)


def make_booking(
    world,  # type: ignore[no-untyped-def]
    session_type: SessionType,
    start: datetime,
    *,
    status: str = BookingStatus.CONFIRMED,
    confirmed_at: datetime | None = None,
    **fields,  # type: ignore[no-untyped-def]
) -> Booking:
    """A booking written directly (times near "now" that the booking actions refuse)."""
    end = start + timedelta(minutes=session_type.duration_minutes)
    return Booking.objects.create(
        brand=world.a.brand,
        profile=session_type.profile,
        patient=world.a.patient,
        session_type=session_type,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        status=status,
        patient_time_zone="Europe/Berlin",
        currency="EUR",
        status_changed_at=confirmed_at or start - 10 * DAY,
        **fields,
    )


def at(moment: datetime) -> int:
    return send_due_reminders(moment)


# --- once ---------------------------------------------------------------------------------


def test_running_twice_sends_each_reminder_once(world, session_type, smtp):
    start = timezone.now() + 3 * DAY
    make_booking(world, session_type, start)
    assert at(start - DAY) == 2
    assert at(start - DAY) == 0
    assert at(start - DAY + 5 * SECOND) == 0
    received = smtp.recorder.received
    assert sorted(r.to for r in received) == sorted(
        [world.a.patient.email, world.a.specialist.email]
    )
    assert all(r.subject.startswith("Reminder: Follow-up") for r in received)
    assert "(Europe/Berlin)" in received[0].body
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    # In-app too, once each.
    assert Notification.objects.filter(kind="booking.reminder").count() == 2


def test_the_24_hour_and_1_hour_reminders_at_their_moments(world, session_type, smtp):
    start = timezone.now() + 3 * DAY
    booking = make_booking(world, session_type, start)
    assert at(start - DAY - SECOND) == 0  # one second before: not yet
    assert at(start - DAY) == 2  # at the moment
    assert at(start - HOUR - SECOND) == 0  # the 24-hour one is done, the 1-hour not yet due
    assert at(start - HOUR) == 2
    assert at(start - SECOND) == 0
    assert at(start) == 0  # started: nothing, ever
    keys = set(Delivery.objects.values_list("key", flat=True))
    stamp = int(booking.start.timestamp())
    assert keys == {
        f"reminder:{booking.pk}:{stamp}:{offset}:{side}"
        for offset in (1440, 60)
        for side in ("patient", "specialist")
    }
    assert len(smtp.recorder.received) == 4


def test_a_reminder_missed_by_a_stopped_worker_is_sent_late_but_never_two_at_once(
    world, session_type, smtp
):
    start = timezone.now() + 3 * DAY
    both_passed = make_booking(world, session_type, start)
    one_passed = make_booking(world, session_type, start + 10 * HOUR)
    # The worker was down from long before until 30 minutes before the first session.
    assert at(start - 30 * MINUTE) == 4
    offsets = {
        booking.pk: {
            k.split(":")[3]
            for k in Delivery.objects.filter(key__startswith=f"reminder:{booking.pk}:").values_list(
                "key", flat=True
            )
        }
        for booking in (both_passed, one_passed)
    }
    # Both moments passed: only the nearest (1 hour), never two at once.
    assert offsets[both_passed.pk] == {"60"}
    # Only the 24-hour moment passed (13.5 hours ago): still sent, late.
    assert offsets[one_passed.pk] == {"1440"}
    assert at(start - 10 * MINUTE) == 0  # the skipped 24-hour reminder never follows
    assert at(one_passed.start - HOUR) == 2
    assert len(smtp.recorder.received) == 6


def test_no_reminder_whose_moment_came_before_the_booking_was_confirmed(world, session_type, smtp):
    start = timezone.now() + 3 * DAY
    make_booking(world, session_type, start, confirmed_at=start - 10 * HOUR)
    assert at(start - 10 * HOUR + SECOND) == 0  # booked 10 hours ahead: no "24 hours"
    assert at(start - HOUR) == 2


def test_a_cancelled_booking_gets_no_reminder(world, session_type, smtp):
    start = timezone.now() + 3 * DAY
    booking = make_booking(world, session_type, start, status=BookingStatus.CANCELLED_BY_PATIENT)
    assert at(start - DAY) == 0
    assert at(start - HOUR) == 0
    # Cancelled after the 24-hour reminder: no 1-hour one.
    live = make_booking(world, session_type, start + 3 * HOUR)
    assert at(live.start - DAY) == 2
    Booking.objects.filter(pk=live.pk).update(status=BookingStatus.CANCELLED_BY_SPECIALIST)
    assert at(live.start - HOUR) == 0
    assert len(smtp.recorder.received) == 2
    assert not Delivery.objects.filter(key__startswith=f"reminder:{booking.pk}:").exists()


def test_a_moved_booking_gets_reminders_for_its_new_time_only(world, session_type, smtp):
    old_start = timezone.now() + 3 * DAY
    old = make_booking(world, session_type, old_start)
    assert at(old_start - DAY) == 2  # the old time's 24-hour reminder
    # Moved two days later: the old booking is "rescheduled", a new one takes its place.
    new_start = old_start + 2 * DAY
    Booking.objects.filter(pk=old.pk).update(status=BookingStatus.RESCHEDULED)
    moved = make_booking(
        world, session_type, new_start, rescheduled_from=old, confirmed_at=old_start - DAY
    )
    assert at(old_start - HOUR) == 0  # nothing at the old time
    assert at(new_start - DAY) == 2
    assert at(new_start - HOUR) == 2
    assert {key.split(":")[1] for key in Delivery.objects.values_list("key", flat=True)} == {
        str(old.pk),
        str(moved.pk),
    }
    assert len(smtp.recorder.received) == 6


def test_the_brands_own_offsets(world, session_type, smtp):
    BookingPolicy.objects.create(brand=world.a.brand, reminder_offsets_minutes=[30])
    start = timezone.now() + 3 * DAY
    make_booking(world, session_type, start)
    assert at(start - DAY) == 0
    assert at(start - 30 * MINUTE - SECOND) == 0
    assert at(start - 30 * MINUTE) == 2


def test_a_failed_send_is_retried_and_a_dead_claim_after_the_lease(world, session_type, smtp):
    start = timezone.now() + 3 * DAY
    make_booking(world, session_type, start)
    smtp.recorder.block_at = 1  # the first message is held, then refused
    smtp.recorder.release()  # ... at once: the send fails
    assert at(start - DAY) == 1
    assert Delivery.objects.filter(state=DeliveryState.FAILED).count() == 1
    assert at(start - DAY + timedelta(minutes=1)) == 0  # not before the retry delay
    assert at(start - DAY + timedelta(minutes=3)) == 1
    assert len(smtp.recorder.received) == 2

    # A claim whose process died: left alone within the lease, taken over after it.
    other = make_booking(world, session_type, start + 5 * HOUR)
    moment = other.start - DAY
    Delivery.objects.create(
        key=f"reminder:{other.pk}:{int(other.start.timestamp())}:1440:patient",
        user=world.a.patient,
        brand=world.a.brand,
        kind="booking.reminder",
        state=DeliveryState.CLAIMED,
        attempts=1,
        claimed_at=moment,
    )
    assert at(moment) == 1  # the specialist's; the patient's is someone else's claim
    assert at(moment + LEASE - SECOND) == 0
    assert at(moment + LEASE) == 1
    assert len(smtp.recorder.received) == 4


# --- killed mid-run -------------------------------------------------------------------------


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite://{Path(settings['NAME']).resolve()}"
    user = quote(settings.get("USER") or "")
    password = quote(settings.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or "127.0.0.1"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings['NAME']}"


def _command_env(tmp_path: Path, smtp_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CAREDOOR_ENV", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        CAREDOOR_DATA_DIR=str(tmp_path / "worker"),
        DJANGO_SETTINGS_MODULE="caredoor.config.settings",
        DATABASE_URL=_database_url(),
        EMAIL_URL=smtp_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _send_reminders(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_reminders"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_killed_mid_run_every_reminder_still_arrives_exactly_once(world, session_type, tmp_path):
    now = timezone.now()
    # Short sessions, so three fit within the hour without overlapping (PostgreSQL's
    # exclusion constraint refuses overlapping active bookings of one specialist).
    short = SessionType.objects.create(
        profile=session_type.profile, name="Check-in", duration_minutes=10
    )
    bookings = [make_booking(world, short, now + timedelta(minutes=20 + 15 * i)) for i in range(3)]
    expected = 2 * len(bookings)  # the 1-hour reminder to both sides of each
    with smtp_server() as server:
        env = _command_env(tmp_path, server.url)
        server.recorder.block_at = 3  # hold the third message, unanswered
        process = _send_reminders(env)
        try:
            assert server.recorder.blocked.wait(timeout=60), _finish(process)
            assert len(server.recorder.received) == 2
            process.send_signal(signal.SIGKILL)  # dies mid-send: no "sent", no clean-up
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        server.recorder.release()  # the held message is refused to a closed connection
        assert process.returncode == -signal.SIGKILL
        assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2
        assert Delivery.objects.filter(state=DeliveryState.CLAIMED).count() == 1

        # The next run sends the rest; the dead claim is still within its lease.
        _finish(_send_reminders(env))
        assert len(server.recorder.received) == expected - 1
        # Once the lease has passed (moved back here rather than waited for), it is sent.
        Delivery.objects.filter(state=DeliveryState.CLAIMED).update(
            claimed_at=F("claimed_at") - LEASE
        )
        _finish(_send_reminders(env))
        _finish(_send_reminders(env))  # and nothing more, however often it runs

        keys = server.recorder.keys()
        assert len(keys) == expected
        assert len(set(keys)) == expected, "a reminder arrived twice"
        recipients = sorted(to for to, _subject in keys)
        assert recipients == sorted(
            [world.a.patient.email] * len(bookings) + [world.a.specialist.email] * len(bookings)
        )
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert Notification.objects.filter(kind="booking.reminder").count() == expected
