"""Availability stored in the database reaches the slot engine in the specialist's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from caredoor.core.scheduling import engine
from caredoor.core.scheduling.availability import free_slots
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.specialists.actions import do_register_specialist

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def session_type(world):
    profile = do_register_specialist(world.a.specialist, world.a.brand)
    profile.time_zone = "Europe/Berlin"
    profile.save()
    return SessionType.objects.create(
        profile=profile,
        name="Follow-up",
        duration_minutes=50,
        buffer_after_minutes=10,
        slot_step_minutes=60,
        min_notice_minutes=0,
        horizon_days=365,
    )


def _local(slots):  # type: ignore[no-untyped-def]
    return [s.start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") for s in slots]


def test_monday_mornings_stay_at_nine_local_across_the_spring_change(session_type):
    AvailabilityRule.objects.create(
        profile=session_type.profile, weekday=0, start_time=time(9), end_time=time(12)
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    slots = free_slots(
        session_type,
        start=datetime(2026, 3, 23, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
        now=now,
    )
    assert _local(slots) == [
        "2026-03-23 09:00",
        "2026-03-23 10:00",
        "2026-03-23 11:00",
        "2026-03-30 09:00",
        "2026-03-30 10:00",
        "2026-03-30 11:00",
    ]
    assert [s.start.hour for s in slots] == [8, 9, 10, 7, 8, 9]  # UTC moved, local did not


def test_overrides_replace_the_day_and_type_specific_hours_add_up(session_type):
    profile = session_type.profile
    AvailabilityRule.objects.create(
        profile=profile, weekday=0, start_time=time(9), end_time=time(11)
    )
    other = SessionType.objects.create(profile=profile, name="Intake", duration_minutes=50)
    AvailabilityRule.objects.create(
        profile=profile, session_type=other, weekday=0, start_time=time(14), end_time=time(16)
    )
    AvailabilityRule.objects.create(
        profile=profile,
        session_type=session_type,
        weekday=0,
        start_time=time(17),
        end_time=time(18),
    )
    DateOverride.objects.create(profile=profile, day=date(2026, 6, 15), windows=[])
    DateOverride.objects.create(
        profile=profile, day=date(2026, 6, 22), windows=[["08:00", "09:00"]]
    )
    now = datetime(2026, 6, 1, tzinfo=UTC)
    slots = free_slots(
        session_type,
        start=datetime(2026, 6, 8, tzinfo=UTC),
        end=datetime(2026, 6, 23, tzinfo=UTC),
        now=now,
    )
    assert _local(slots) == [
        "2026-06-08 09:00",
        "2026-06-08 10:00",
        "2026-06-08 17:00",
        "2026-06-22 08:00",
    ]


def test_busy_bookings_and_buffers_are_respected(session_type):
    AvailabilityRule.objects.create(
        profile=session_type.profile, weekday=0, start_time=time(9), end_time=time(12)
    )
    booked = datetime(2026, 6, 8, 9, tzinfo=BERLIN)
    busy = [engine.Busy(booked, booked + timedelta(minutes=50), buffer_after=timedelta(minutes=10))]
    slots = free_slots(
        session_type,
        start=datetime(2026, 6, 8, tzinfo=UTC),
        end=datetime(2026, 6, 9, tzinfo=UTC),
        now=datetime(2026, 6, 1, tzinfo=UTC),
        busy=busy,
    )
    assert _local(slots) == ["2026-06-08 10:00", "2026-06-08 11:00"]


def test_a_rule_must_end_after_it_starts_in_the_database(session_type):
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilityRule.objects.create(
            profile=session_type.profile, weekday=1, start_time=time(12), end_time=time(9)
        )
    AvailabilityRule.objects.create(
        profile=session_type.profile, weekday=1, start_time=time(20), end_time=time(0)
    )  # until midnight


@pytest.mark.parametrize(
    "windows",
    [
        [["12:00", "09:00"]],
        [["09:00", "11:00"], ["10:00", "12:00"]],
        [["9am", "noon"]],
        "09:00-12:00",
    ],
)
def test_override_hours_are_validated(session_type, windows):
    override = DateOverride(profile=session_type.profile, day=date(2026, 7, 1), windows=windows)
    with pytest.raises(ValidationError):
        override.full_clean()


def test_next_available_for_many_matches_each_specialists_own_slots(world):
    from caredoor.core.booking.queries import busy_intervals, next_available
    from tests import factories

    types = []
    for i in range(5):
        user = factories.make_user(f"na{i}@example.test")
        profile = do_register_specialist(user, world.a.brand)
        profile.time_zone = [
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "Australia/Sydney",
            "UTC",
        ][i]
        profile.save()
        st = SessionType.objects.create(
            profile=profile, name="S", duration_minutes=45, min_notice_minutes=60, horizon_days=90
        )
        if i != 4:  # the last one has no hours at all
            AvailabilityRule.objects.create(
                profile=profile, weekday=(i * 2) % 7, start_time=time(8 + i), end_time=time(12 + i)
            )
        types.append(SessionType.objects.select_related("profile").get(pk=st.pk))
    now = datetime(2026, 5, 4, 6, 30, tzinfo=UTC)
    found = next_available(types, now=now, days=30)
    for st in types:
        own = free_slots(
            st,
            start=now,
            end=now + timedelta(days=30),
            now=now,
            busy=busy_intervals(st.profile_id, now, now + timedelta(days=30)),
        )
        assert found[st.pk] == (own[0] if own else None)
    assert found[types[4].pk] is None
