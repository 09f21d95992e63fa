"""Next available for many specialists equals each specialist's own first free slot.

``booking.queries.next_available`` loads many specialists at once, in passes over growing
windows, and hands the engine only blocked ranges; ``availability.free_slots`` with all of a
specialist's bookings is the reference. Random specialists in zones with and without DST
(and a half-hour shift), around clock changes, with buffers on both sides, minimum notice,
horizons, hours reserved for one session type, date overrides and cancelled bookings.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, time, timedelta

import pytest

from caredoor.core.booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from caredoor.core.booking.queries import busy_intervals, next_available
from caredoor.core.scheduling import engine
from caredoor.core.scheduling.availability import free_slots, queries_for, query_for
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "UTC",
]
# Instants a few hours to two days before clock changes in 2026: Europe (29 March,
# 25 October), the United States (8 March, 1 November), Australia (5 April, 4 October).
CHANGES = [
    datetime(2026, 3, 28, 9, 0, tzinfo=UTC),
    datetime(2026, 10, 24, 18, 0, tzinfo=UTC),
    datetime(2026, 3, 7, 3, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 20, 0, tzinfo=UTC),
    datetime(2026, 4, 3, 23, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 4, 0, tzinfo=UTC),
]
# Hours over the night, where clocks change, and up to midnight.
NIGHT_WINDOWS = [(time(0), time(4)), (time(1, 30), time(3, 30)), (time(22), time(0))]
_emails = itertools.count()


def specialist(world, zone: str):  # type: ignore[no-untyped-def]
    user = factories.make_user(f"next{next(_emails)}@example.test")
    profile = do_register_specialist(user, world.a.brand)
    profile.time_zone = zone
    profile.save()
    return profile


def random_window(rng: random.Random) -> tuple[time, time]:
    if rng.random() < 0.3:
        return rng.choice(NIGHT_WINDOWS)
    start = rng.randrange(0, 22 * 12) * 5
    end = min(start + rng.randrange(3, 12 * 12) * 5, 24 * 60)
    as_time = lambda m: time(0) if m == 24 * 60 else time(m // 60, m % 60)  # noqa: E731
    return as_time(start), as_time(end)


def book(world, profile, session_type, start: datetime, minutes: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """A booking written directly, with buffers of its own. Active bookings that would
    overlap an active one are left out: PostgreSQL's exclusion constraint refuses them, as
    it should; inactive (cancelled) ones may overlap anything."""
    end = start + timedelta(minutes=minutes)
    blocked = (
        start - timedelta(minutes=rng.choice([0, 0, 5, 15, 30])),
        end + timedelta(minutes=rng.choice([0, 0, 10, 15, 30])),
    )
    status = rng.choice(
        [BookingStatus.CONFIRMED] * 4
        + [BookingStatus.PENDING_PAYMENT, BookingStatus.CANCELLED_BY_PATIENT]
    )
    if status in ACTIVE_STATUSES and _taken(profile, *blocked):
        return
    Booking.objects.create(
        brand=world.a.brand,
        profile=profile,
        patient=world.a.patient,
        session_type=session_type,
        start=start,
        end=end,
        blocked_start=blocked[0],
        blocked_end=blocked[1],
        status=status,
        patient_time_zone="Europe/Berlin",
        currency="EUR",
    )


def _taken(profile, blocked_start: datetime, blocked_end: datetime) -> bool:  # type: ignore[no-untyped-def]
    return Booking.objects.filter(profile=profile).blocking(blocked_start, blocked_end).exists()


def hold(world, st: SessionType, blocked_start: datetime, blocked_end: datetime) -> None:  # type: ignore[no-untyped-def]
    """A confirmed booking of ``st`` that blocks exactly ``[blocked_start, blocked_end)``
    (unless an active booking is already there)."""
    if _taken(st.profile, blocked_start, blocked_end):
        return
    Booking.objects.create(
        brand=world.a.brand,
        profile=st.profile,
        patient=world.a.patient,
        session_type=st,
        start=blocked_start,
        end=blocked_end,
        blocked_start=blocked_start,
        blocked_end=blocked_end,
        status=BookingStatus.CONFIRMED,
        patient_time_zone="Europe/Berlin",
        currency="EUR",
    )


def random_specialist(world, rng: random.Random, now: datetime, days: int) -> list[SessionType]:  # type: ignore[no-untyped-def]
    profile = specialist(world, rng.choice(ZONES))
    types = [
        SessionType.objects.create(
            profile=profile,
            name=f"S{n}",
            duration_minutes=rng.choice([15, 30, 45, 50, 60, 90]),
            slot_step_minutes=rng.choice([5, 15, 20, 30, 45, 60]),
            buffer_before_minutes=rng.choice([0, 0, 5, 10, 30]),
            buffer_after_minutes=rng.choice([0, 0, 10, 15, 30]),
            min_notice_minutes=rng.choice([0, 0, 60, 12 * 60, 36 * 60]),
            horizon_days=rng.choice([1, 2, 7, 60]),
        )
        for n in range(rng.choice([1, 1, 2]))
    ]
    shape = rng.random()
    if shape < 0.6:  # the same hours on several weekdays
        weekdays = rng.sample(range(7), rng.randint(1, 7))
        windows = [random_window(rng) for _ in range(rng.randint(1, 2))]
        pairs = [(d, w) for d in weekdays for w in windows]
    elif shape < 0.9:
        pairs = [(rng.randrange(7), random_window(rng)) for _ in range(rng.randint(1, 6))]
    else:
        pairs = []  # only date overrides, or nothing at all
    for weekday, (start, end) in pairs:
        reserved = rng.choice(types) if rng.random() < 0.2 else None
        AvailabilityRule.objects.create(
            profile=profile, session_type=reserved, weekday=weekday, start_time=start, end_time=end
        )
    first_day = now.date() - timedelta(days=1)
    for offset in rng.sample(range(days + 3), min(rng.randint(0, 3), days + 3)):
        spans = sorted(random_window(rng) for _ in range(rng.randint(0, 1)))
        DateOverride.objects.create(
            profile=profile,
            day=first_day + timedelta(days=offset),
            windows=[[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in spans],
        )
    for _ in range(rng.randint(0, 25)):
        minute = rng.randrange(-24 * 12, (days + 1) * 24 * 12) * 5
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=minute)
        book(world, profile, rng.choice(types), start, rng.choice([15, 30, 50, 90, 180]), rng)
    # Bookings that touch the first free slots or overlap them by five minutes, on either
    # side and through either side's buffers: the half-open edges must agree exactly.
    for st in types:
        for slot in (reference(st, now, days, every=True) or [])[:3]:
            overlap = timedelta(minutes=rng.choice([0, 5]))
            if rng.random() < 0.5:
                edge = slot.end + timedelta(minutes=st.buffer_after_minutes) - overlap
                hold(world, st, edge, edge + timedelta(minutes=30))
            else:
                edge = slot.start - timedelta(minutes=st.buffer_before_minutes) + overlap
                hold(world, st, edge - timedelta(minutes=30), edge)
    return types


def reference(session_type: SessionType, now: datetime, days: int, every: bool = False):  # type: ignore[no-untyped-def]
    """The specialist's own first free slot (or all of them), with every booking that could
    matter."""
    end = now + timedelta(days=days)
    busy = busy_intervals(session_type.profile_id, now - timedelta(days=2), end + timedelta(days=2))
    own = free_slots(session_type, start=now, end=end, now=now, busy=busy)
    if every:
        return own
    return own[0] if own else None


def loaded(types: list[SessionType]) -> list[SessionType]:
    by_pk = SessionType.objects.select_related("profile").in_bulk([st.pk for st in types])
    return [by_pk[st.pk] for st in types]


@pytest.mark.parametrize("seed", range(6))
def test_next_available_equals_each_specialists_first_free_slot(world, seed):
    rng = random.Random(seed)
    now = CHANGES[seed] + timedelta(minutes=rng.randrange(0, 24 * 60))
    days = [1, 3, 7, 30, 2, 5][seed]  # shorter than, equal to and longer than the first pass
    types = loaded([st for _ in range(14) for st in random_specialist(world, rng, now, days)])
    found = next_available(types, now=now, days=days)
    assert set(found) == {st.pk for st in types}
    for st in types:
        assert found[st.pk] == reference(st, now, days), (st.profile.time_zone, st.pk)
    # Not a vacuous comparison: some have a slot, some have none.
    assert any(found.values()) and not all(found.values())


def test_every_pass_gives_the_same_answer(world, monkeypatch):
    from caredoor.core.booking import queries

    rng = random.Random(99)
    now = CHANGES[0]
    types = loaded([st for _ in range(10) for st in random_specialist(world, rng, now, 30)])
    answers = []
    for passes in [(), (1,), (1, 2, 3), (3, 10), (29,)]:
        monkeypatch.setattr(queries, "PASS_DAYS", passes)
        answers.append(next_available(types, now=now, days=30))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0] == {st.pk: reference(st, now, 30) for st in types}


def berlin_type(world, **fields) -> SessionType:  # type: ignore[no-untyped-def]
    profile = specialist(world, "Europe/Berlin")
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    values = {
        "name": "S",
        "duration_minutes": 60,
        "slot_step_minutes": 60,
        "min_notice_minutes": 0,
        "horizon_days": 60,
        **fields,
    }
    st = SessionType.objects.create(profile=profile, **values)
    return SessionType.objects.select_related("profile").get(pk=st.pk)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_booking_just_after_the_window_takes_the_last_slot_by_its_buffer(world):
    # Open 09:00-17:00 Berlin (07:00-15:00 UTC in June). Asked at 14:00 UTC for one day:
    # the slots are 14:00 today and 07:00 .. 13:00 tomorrow, the last one ending 14:00.
    st = berlin_type(world, buffer_after_minutes=30)
    now = utc(2026, 6, 1, 14)
    hold(world, st, utc(2026, 6, 1, 14), utc(2026, 6, 2, 13))  # all but the last slot
    # After the window, yet within the last slot's 30 minutes after.
    hold(world, st, utc(2026, 6, 2, 14, 20), utc(2026, 6, 2, 14, 50))
    assert reference(st, now, 1) is None
    assert next_available([st], now=now, days=1) == {st.pk: None}
    # With two days, the first slot of the day after.
    third = engine.Slot(utc(2026, 6, 3, 7), utc(2026, 6, 3, 8))
    assert reference(st, now, 2) == third
    assert next_available([st], now=now, days=2) == {st.pk: third}


def test_a_booking_just_before_now_takes_the_first_slot_by_its_buffer(world):
    st = berlin_type(world, buffer_before_minutes=30)
    now = utc(2026, 6, 1, 7)  # 09:00 Berlin: the first slot starts now
    hold(world, st, utc(2026, 6, 1, 6), utc(2026, 6, 1, 6, 40))  # ended before now
    second = engine.Slot(utc(2026, 6, 1, 8), utc(2026, 6, 1, 9))
    assert reference(st, now, 1) == second
    assert next_available([st], now=now, days=1) == {st.pk: second}


def test_queries_for_many_equal_query_for_each(world):
    rng = random.Random(5)
    now = CHANGES[1]
    types = loaded([st for _ in range(8) for st in random_specialist(world, rng, now, 3)])
    types.append(berlin_type(world))
    types.append(berlin_type(world))  # the same shape twice
    end = now + timedelta(days=3)
    many = queries_for(types, start=now, end=end, now=now)
    assert many == {st.pk: query_for(st, start=now, end=end, now=now) for st in types}


def test_no_session_types_need_no_queries(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert next_available([], now=CHANGES[0], days=30) == {}
