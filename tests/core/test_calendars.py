"""ICS feeds and invites, read back with vobject (not icalendar, which writes them), and the
feed's secret: created, regenerated and revoked through audited actions."""

from __future__ import annotations

import email
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caredoor.core.booking import ics, lifecycle
from caredoor.core.booking.actions import do_cancel, do_reschedule
from caredoor.core.booking.models import BookingStatus
from caredoor.core.calendars.actions import (
    do_create_feed,
    do_regenerate_feed,
    do_revoke_feed,
    hash_token,
)
from caredoor.core.calendars.models import CalendarFeed
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.calendar_helpers import (
    PATIENT_NAME,
    add_booking,
    defined_zones,
    events,
    listed_profile,
    parse,
    tzid,
    uid,
)

BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.fixture
def listed(world):
    return listed_profile(world.a)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def feed_of(profile, now: datetime) -> bytes:  # type: ignore[no-untyped-def]
    return ics.specialist_feed(profile, now=now)


def assert_same_time(prop, expected: datetime, zone: ZoneInfo) -> None:  # type: ignore[no-untyped-def]
    """``prop`` (a parsed DTSTART/DTEND) is ``expected`` as an instant and, written with the
    zone's TZID, as the wall-clock time there."""
    value = prop.value
    assert value.tzinfo is not None and value.utcoffset() is not None
    assert value.astimezone(UTC) == expected.astimezone(UTC)
    assert tzid(prop) == zone.key
    assert value.replace(tzinfo=None) == expected.astimezone(zone).replace(tzinfo=None)


# --- times --------------------------------------------------------------------------------


def test_feed_times_are_the_booking_times_around_the_spring_change_in_berlin(world, listed):
    profile, session_type = listed
    patient, brand = world.a.patient, world.a.brand
    # Clocks go from 02:00 to 03:00 on 28 March 2027: 03:00 is the first minute of summer time.
    before = add_booking(session_type, patient, brand, berlin(2027, 3, 27, 10))
    just_after = add_booking(session_type, patient, brand, berlin(2027, 3, 28, 3))
    later = add_booking(session_type, patient, brand, berlin(2027, 3, 29, 9, 30))
    data = feed_of(profile, now=datetime(2027, 3, 1, tzinfo=UTC))
    found = events(data)
    assert set(found) == {uid(before), uid(just_after), uid(later)}
    assert just_after.start == datetime(2027, 3, 28, 1, tzinfo=UTC)  # CEST, UTC+2
    assert before.start == datetime(2027, 3, 27, 9, tzinfo=UTC)  # CET, UTC+1
    for booking in (before, just_after, later):
        event = found[uid(booking)]
        assert_same_time(event.dtstart, booking.start, BERLIN)
        assert_same_time(event.dtend, booking.end, BERLIN)
    assert found[uid(just_after)].dtstart.value.replace(tzinfo=None) == datetime(2027, 3, 28, 3)
    assert found[uid(just_after)].dtstart.value.utcoffset() == timedelta(hours=2)
    assert found[uid(before)].dtstart.value.utcoffset() == timedelta(hours=1)
    assert defined_zones(data) == {"Europe/Berlin"}
    assert b"DTSTART;TZID=Europe/Berlin:20270328T030000" in data


def test_the_second_pass_through_the_repeated_hour_is_written_in_utc(world, listed):
    profile, session_type = listed
    # 25 October 2026: 02:00-03:00 happens twice. 00:00 UTC is the first 02:00 (CEST),
    # 01:30 UTC the second 02:30 (CET) -- which "TZID=Europe/Berlin:...T023000" cannot name.
    first = add_booking(
        session_type, world.a.patient, world.a.brand, datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    )
    second = add_booking(
        session_type, world.a.patient, world.a.sister, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    )
    data = feed_of(profile, now=datetime(2026, 10, 20, tzinfo=UTC))
    found = events(data)
    assert_same_time(found[uid(first)].dtstart, first.start, BERLIN)
    repeated = found[uid(second)]
    assert repeated.dtstart.value == second.start
    assert repeated.dtstart.value.utcoffset() == timedelta(0)
    assert repeated.dtend.value == second.end


def test_patient_invite_in_sydney_across_both_changes(world, listed):
    _profile, session_type = listed
    # Sydney: summer time ends 4 April 2027 (03:00 -> 02:00) and starts 3 October 2027
    # (02:00 -> 03:00).
    autumn = add_booking(
        session_type,
        world.a.patient,
        world.a.brand,
        datetime(2027, 4, 4, 10, tzinfo=SYDNEY),
        patient_zone="Australia/Sydney",
    )
    spring = add_booking(
        session_type,
        world.a.patient,
        world.a.brand,
        datetime(2027, 10, 3, 3, tzinfo=SYDNEY),
        patient_zone="Australia/Sydney",
    )
    assert spring.start == datetime(2027, 10, 2, 16, tzinfo=UTC)  # AEDT, UTC+11
    assert autumn.start == datetime(2027, 4, 4, 0, tzinfo=UTC)  # AEST, UTC+10
    for booking, offset in ((autumn, 10), (spring, 11)):
        data = ics.booking_invite(booking, recipient="patient", method="REQUEST")
        calendar = parse(data)
        assert calendar.method.value == "REQUEST"
        event = events(data)[uid(booking)]
        assert_same_time(event.dtstart, booking.start, SYDNEY)
        assert_same_time(event.dtend, booking.end, SYDNEY)
        assert event.dtstart.value.utcoffset() == timedelta(hours=offset)
        assert defined_zones(data) == {"Australia/Sydney"}
    spring_event = events(ics.booking_invite(spring, recipient="patient", method="REQUEST"))
    assert spring_event[uid(spring)].dtstart.value.replace(tzinfo=None) == datetime(2027, 10, 3, 3)


def test_specialist_invite_is_in_the_specialists_zone(world, listed):
    _profile, session_type = listed
    booking = add_booking(
        session_type,
        world.a.patient,
        world.a.brand,
        datetime(2027, 10, 3, 3, tzinfo=SYDNEY),
        patient_zone="Australia/Sydney",
    )
    data = ics.booking_invite(booking, recipient="specialist", method="REQUEST")
    event = events(data)[uid(booking)]
    assert_same_time(event.dtstart, booking.start, BERLIN)
    assert event.dtstart.value.replace(tzinfo=None) == datetime(2027, 10, 2, 18)
    assert defined_zones(data) == {"Europe/Berlin"}


def test_a_patient_without_a_zone_on_the_booking_gets_their_own_or_the_brands(world, listed):
    _profile, session_type = listed
    booking = add_booking(
        session_type, world.a.patient, world.a.brand, berlin(2027, 1, 5, 9), patient_zone=""
    )
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save(update_fields=["time_zone"])
    event = events(ics.booking_invite(booking, recipient="patient", method="REQUEST"))
    assert_same_time(event[uid(booking)].dtstart, booking.start, ZoneInfo("America/New_York"))


# --- statuses, UIDs and sequence numbers ----------------------------------------------------


def in_days(days: int, hour: int) -> datetime:
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), BERLIN)


def test_feed_statuses(world, listed):
    profile, session_type = listed
    patient, brand = world.a.patient, world.a.brand
    S = BookingStatus
    made = {
        status: add_booking(session_type, patient, brand, in_days(3 + i, 9), status=status)
        for i, status in enumerate(
            [
                S.CONFIRMED,
                S.PROPOSED,
                S.PENDING_PAYMENT,
                S.CANCELLED_BY_PATIENT,
                S.CANCELLED_BY_SPECIALIST,
                S.RESCHEDULED,
                S.EXPIRED,
                S.DECLINED,
            ]
        )
    }
    made[S.COMPLETED] = add_booking(
        session_type, patient, brand, in_days(-3, 9), status=S.COMPLETED
    )
    made[S.NO_SHOW] = add_booking(session_type, patient, brand, in_days(-5, 9), status=S.NO_SHOW)
    found = events(feed_of(profile, timezone.now()))
    expected = {
        S.CONFIRMED: "CONFIRMED",
        S.COMPLETED: "CONFIRMED",
        S.NO_SHOW: "CONFIRMED",
        S.PROPOSED: "TENTATIVE",
        S.PENDING_PAYMENT: "TENTATIVE",
        S.CANCELLED_BY_PATIENT: "CANCELLED",
        S.CANCELLED_BY_SPECIALIST: "CANCELLED",
        S.RESCHEDULED: "CANCELLED",
        S.EXPIRED: "CANCELLED",
        S.DECLINED: "CANCELLED",
    }
    assert {found[uid(b)].status.value for b in made.values()} <= set(expected.values())
    for status, booking in made.items():
        assert found[uid(booking)].status.value == expected[status], status


def test_feed_window_and_brands(world, listed):
    profile, session_type = listed
    patient = world.a.patient
    now = timezone.now()
    old = add_booking(session_type, patient, world.a.brand, now - timedelta(days=40))
    recent = add_booking(
        session_type, patient, world.a.brand, now - timedelta(days=20), status="completed"
    )
    far = add_booking(session_type, patient, world.a.sister, now + timedelta(days=300))
    # Another specialist of the same network, with a booking of the same patient.
    other_user = factories.make_user("other.specialist@example.test")
    factories.grant(other_user, "specialist", network=world.a.network)
    other_profile = do_register_specialist(other_user, world.a.brand)
    other_type = session_type.__class__.objects.create(
        profile=other_profile, name="Other", duration_minutes=30
    )
    theirs = add_booking(other_type, patient, world.a.brand, now + timedelta(days=2))
    found = events(feed_of(profile, now))
    assert set(found) == {uid(recent), uid(far)}
    assert uid(old) not in found and uid(theirs) not in found
    assert found[uid(far)].location.value == "Online session (Sister A)"
    assert set(events(feed_of(other_profile, now))) == {uid(theirs)}


def test_cancelling_keeps_the_uid_and_raises_the_sequence(world, listed):
    profile, session_type = listed
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(5, 10))
    before = events(feed_of(profile, timezone.now()))[uid(booking)]
    invite = events(ics.booking_invite(booking, recipient="patient", method="REQUEST"))
    do_cancel(booking, by="specialist", actor=world.a.specialist, reason="Flu, sorry")
    booking.refresh_from_db()
    data = feed_of(profile, timezone.now())
    after = events(data)[uid(booking)]
    assert after.status.value == "CANCELLED"
    assert int(after.sequence.value) > int(before.sequence.value)
    assert after.transp.value == "TRANSPARENT"
    assert b"Flu" not in data  # the reason never leaves the platform
    cancel = ics.booking_invite(booking, recipient="patient", method="CANCEL")
    assert parse(cancel).method.value == "CANCEL"
    cancelled = events(cancel)[uid(booking)]
    assert cancelled.status.value == "CANCELLED"
    assert int(cancelled.sequence.value) > int(invite[uid(booking)].sequence.value)
    assert b"Flu" not in cancel


def test_a_rescheduled_booking_is_cancelled_and_the_new_one_is_its_own_event(world, listed):
    profile, session_type = listed
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(6, 10))
    before = events(feed_of(profile, timezone.now()))[uid(booking)]
    moved = do_reschedule(booking, actor=world.a.specialist, start=in_days(7, 11))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED
    found = events(feed_of(profile, timezone.now()))
    old, new = found[uid(booking)], found[uid(moved)]
    assert old.status.value == "CANCELLED"
    assert int(old.sequence.value) > int(before.sequence.value)
    assert_same_time(old.dtstart, booking.start, BERLIN)
    assert new.status.value == "CONFIRMED"
    assert_same_time(new.dtstart, in_days(7, 11), BERLIN)
    assert uid(moved) != uid(booking)


def test_sequence_grows_along_every_lifecycle_transition_even_within_a_second(world, listed):
    _profile, session_type = listed
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(4, 9))
    for current, targets in lifecycle.TRANSITIONS.items():
        for target in targets:
            booking.status = current
            booking.updated_at = booking.status_changed_at = booking.created_at
            first = ics.event_sequence(booking)
            booking.status = target
            assert ics.event_sequence(booking) > first, (current, target)
            booking.status_changed_at = booking.created_at + timedelta(seconds=1)
            assert ics.event_sequence(booking) > first, (current, target)


# --- what the calendars get to see --------------------------------------------------------


def test_feed_and_specialist_invite_carry_no_patient_identity(world, listed):
    profile, session_type = listed
    booking = add_booking(
        session_type, world.a.patient, world.a.brand, in_days(2, 9), cancel_reason="private"
    )
    feed = feed_of(profile, timezone.now())
    invite = ics.booking_invite(booking, recipient="specialist", method="REQUEST")
    for data in (feed, invite):
        text = data.decode()
        for secret in (PATIENT_NAME, "Jane", "Doe", world.a.patient.email, "patient.a"):
            assert secret not in text, secret
        event = events(data)[uid(booking)]
        assert event.summary.value == "Intake · J. D."
        assert event.location.value == "Online session (Brand A)"
        assert event.description.value.startswith("Open this booking in your specialist portal:")
        assert "http://a.test:" in event.description.value
        assert event.url.value in event.description.value
    assert events(feed)[uid(booking)].getChildValue("class") == "PRIVATE"
    attendees = [a.value for a in events(invite)[uid(booking)].attendee_list]
    assert attendees == [f"mailto:{world.a.specialist.email}"]


def test_feed_calendar_properties(world, listed):
    profile, session_type = listed
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(2, 9))
    data = ics.specialist_feed(profile, now=timezone.now(), brand=world.a.sister)
    calendar = parse(data)
    assert calendar.version.value == "2.0"
    assert calendar.prodid.value == ics.PRODID
    assert not hasattr(calendar, "method")
    assert calendar.getChildValue("x_wr_calname") == "Sessions (Sister A)"
    assert calendar.getChildValue("x_wr_timezone") == "Europe/Berlin"
    assert calendar.getChildValue("x_published_ttl") in ("PT15M", timedelta(minutes=15))
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in data
    event = events(data)[uid(booking)]
    assert event.dtstamp.value == booking.updated_at.replace(microsecond=0)
    assert event.last_modified.value == booking.updated_at.replace(microsecond=0)
    assert event.created.value == booking.created_at.replace(microsecond=0)
    # Without a change the bytes stay the same (calendar apps and ETags rely on it).
    assert ics.specialist_feed(profile, now=timezone.now(), brand=world.a.sister) == data


def test_an_empty_feed_is_a_valid_calendar(world, listed):
    profile, _session_type = listed
    data = feed_of(profile, timezone.now())
    assert events(data) == {}
    assert parse(data).prodid.value == ics.PRODID


def test_patient_invite(world, listed, settings):
    _profile, session_type = listed
    settings.DEFAULT_FROM_EMAIL = "Caredoor <hello@caredoor.example>"
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(2, 9))
    data = ics.booking_invite(booking, recipient="patient", method="REQUEST")
    event = events(data)[uid(booking)]
    assert event.summary.value == "Intake with Dr. Listed (Brand A)"
    assert event.organizer.value == "mailto:hello@caredoor.example"
    assert event.organizer.params["CN"] == ["Brand A"]
    assert [a.value for a in event.attendee_list] == [f"mailto:{world.a.patient.email}"]
    assert event.attendee.params["RSVP"] == ["FALSE"]
    assert event.status.value == "CONFIRMED"
    assert event.dtstamp.value.tzinfo is not None


def test_invite_is_in_the_recipients_language(world, listed):
    _profile, session_type = listed
    brand = world.a.brand
    brand.languages = ["en", "de"]
    brand.save(update_fields=["languages"])
    world.a.patient.language = "de"
    world.a.patient.save(update_fields=["language"])
    booking = add_booking(session_type, world.a.patient, brand, in_days(2, 9))
    from django.utils import translation

    with translation.override("de"):
        expected = ics.location(booking)
    event = events(ics.booking_invite(booking, recipient="patient", method="REQUEST"))
    assert event[uid(booking)].location.value == expected


def test_invite_attachment_in_an_email(world, listed):
    _profile, session_type = listed
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(2, 9))
    filename, content, mimetype = ics.invite_attachment(booking, "patient", "REQUEST")
    assert filename.endswith(".ics") and mimetype == "text/calendar; method=REQUEST"
    message = EmailMultiAlternatives("Booked", "See you", "a@b.test", ["p@b.test"])
    message.attach(filename, content, mimetype)
    parsed = email.message_from_bytes(message.message().as_bytes())
    part = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == filename
    attached = part.get_payload(decode=True)
    assert uid(booking) in events(attached)
    _name, cancel, cancel_type = ics.invite_attachment(booking, "specialist", "CANCEL")
    assert cancel_type == "text/calendar; method=CANCEL"
    assert parse(cancel).method.value == "CANCEL"


def test_invite_refuses_unknown_recipients_and_methods(world, listed):
    _profile, session_type = listed
    booking = add_booking(session_type, world.a.patient, world.a.brand, in_days(2, 9))
    with pytest.raises(ValueError):
        ics.booking_invite(booking, recipient="operator", method="REQUEST")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ics.booking_invite(booking, recipient="patient", method="PUBLISH")  # type: ignore[arg-type]


def test_initials():
    assert ics.initials("Jane van Doe") == "J. D."
    assert ics.initials("  élodie  ") == "É."
    assert ics.initials("Anne-Marie Curie") == "A. C."
    assert ics.initials("") == ""
    assert ics.initials("123 !!") == ""


# --- the secret ---------------------------------------------------------------------------


def test_feed_actions_keep_the_token_secret_and_are_audited(world, listed):
    profile, _session_type = listed
    actor = world.a.specialist
    events_before = AuditEvent.objects.count()
    feed = do_create_feed(profile, actor=actor)
    token = feed.token
    assert len(token) >= 43
    row = CalendarFeed.objects.get(profile=profile)
    assert row.token_hash == hash_token(token) != token
    assert token not in row.token_encrypted
    assert do_create_feed(profile, actor=actor).token == token  # idempotent
    regenerated = do_regenerate_feed(profile, actor=actor)
    new_token = regenerated.token
    assert new_token != token
    assert CalendarFeed.objects.get(profile=profile).token_hash == hash_token(new_token)
    assert do_revoke_feed(profile, actor=actor) is True
    assert do_revoke_feed(profile, actor=actor) is False
    assert not CalendarFeed.objects.filter(profile=profile).exists()
    trail = AuditEvent.objects.order_by("seq")[events_before:]
    assert [e.action for e in trail] == [
        "calendar_feed.created",
        "calendar_feed.regenerated",
        "calendar_feed.revoked",
    ]
    for event in trail:
        assert event.actor == actor and event.actor_role == "specialist"
        dumped = f"{event.data} {event.target_label} {event.target_id}"
        assert token not in dumped and new_token not in dumped
        assert hash_token(token) not in dumped


def test_regenerating_without_a_feed_makes_one(world, listed):
    profile, _session_type = listed
    feed = do_regenerate_feed(profile, actor=world.a.specialist)
    assert CalendarFeed.objects.get(profile=profile).token_hash == hash_token(feed.token)
    assert AuditEvent.objects.filter(action="calendar_feed.created").count() == 1


ZONES = [
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute summer time
    "Europe/Dublin",  # "negative" summer time in the tz database
    "Africa/Casablanca",  # summer time paused for Ramadan
    "America/Sao_Paulo",  # summer time abolished in 2019
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 with summer time
]


@pytest.mark.parametrize("key", ZONES)
def test_feed_times_in_many_zones_over_three_years(world, listed, key):
    """Every 61 hours for three years, in the specialist's zone: the parsed instants and
    wall-clock times are the bookings', or the instant in UTC where TZID cannot name it."""
    profile, session_type = listed
    profile.time_zone = key
    profile.save(update_fields=["time_zone"])
    zone = ZoneInfo(key)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [
        add_booking(session_type, world.a.patient, world.a.brand, start + timedelta(hours=61 * i))
        for i in range(3 * 365 * 24 // 61)
    ]
    data = ics.specialist_feed(profile, now=start - timedelta(days=1))
    found = events(data)
    assert len(found) == len(made)
    assert defined_zones(data) == {key}
    for booking in made:
        event = found[uid(booking)]
        for prop, expected in ((event.dtstart, booking.start), (event.dtend, booking.end)):
            assert prop.value.astimezone(UTC) == expected, (key, expected)
            if tzid(prop):
                assert tzid(prop) == key
                local = expected.astimezone(zone).replace(tzinfo=None)
                assert prop.value.replace(tzinfo=None) == local


def test_the_feed_reads_the_same_number_of_queries_for_any_number_of_bookings(
    world, listed, django_assert_max_num_queries
):
    profile, session_type = listed
    for i in range(2):
        add_booking(session_type, world.a.patient, world.a.brand, in_days(2 + i, 9))
    with CaptureQueriesContext(connection) as few:
        ics.specialist_feed(profile, now=timezone.now())
    for i in range(20):
        add_booking(session_type, world.a.patient, world.a.sister, in_days(10 + i, 9))
    with django_assert_max_num_queries(len(few.captured_queries)):
        ics.specialist_feed(profile, now=timezone.now())


@pytest.mark.parametrize("key", ZONES)
def test_clock_changes_are_every_change_zoneinfo_knows(key):
    zone = ZoneInfo(key)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
    expected, at = [], start
    previous = at.astimezone(zone).utcoffset()
    while at < end:  # every quarter hour: each change in these zones falls on one
        at += timedelta(minutes=15)
        offset = at.astimezone(zone).utcoffset()
        if offset != previous:
            expected.append(at)
            previous = offset
    found = [
        datetime.fromtimestamp(when, UTC)
        for when, (offset, _dst, _name) in ics.clock_changes(zone, start, end)
    ]
    offsets_changed = [
        when
        for when in found
        if (when - timedelta(seconds=1)).astimezone(zone).utcoffset()
        != when.astimezone(zone).utcoffset()
    ]
    assert offsets_changed == expected


def test_dublins_summer_is_daylight_time():
    data = ics._vtimezone("Europe/Dublin", 2026, 2026).decode()
    assert "BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nTZNAME:IST" in data
    assert "BEGIN:STANDARD\r\nDTSTART:20261025T020000\r\nTZNAME:GMT" in data
