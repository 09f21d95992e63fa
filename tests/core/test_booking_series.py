"""Recurring series: every occurrence checked, local time kept across DST, all-or-nothing
unless conflicts are skipped, and changes from one occurrence onward."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caredoor.core.booking import series
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.errors import SeriesConflicts
from caredoor.core.booking.models import Booking, BookingSeries, BookingStatus
from tests.booking_helpers import BERLIN, listed_with_hours, make_type


@pytest.fixture
def session_type(world):  # type: ignore[no-untyped-def]
    profile = listed_with_hours(world.a)[0]
    return make_type(profile)


def next_weekday(weekday: int, at: time, *, after_days: int = 3) -> datetime:
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=after_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, at, BERLIN)


def create(world, session_type, first, count=4, interval=1, **kw):  # type: ignore[no-untyped-def]
    return series.do_create_series(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        first_start=first,
        interval_weeks=interval,
        count=count,
        **kw,
    )


def _crosses_a_change(first: datetime, weeks: int) -> bool:
    offsets = {(first + timedelta(weeks=i)).utcoffset() for i in range(weeks)}
    return len(offsets) > 1


def test_a_weekly_series_keeps_local_time_across_daylight_saving(world, session_type):
    first = next_weekday(0, time(9))
    count = 30  # over half a year: crosses at least one change of clocks
    assert _crosses_a_change(first, count)
    created = create(world, session_type, first, count=count)
    rows = list(created.bookings.order_by("start"))
    assert len(rows) == count
    assert {r.start.astimezone(BERLIN).time() for r in rows} == {time(9)}
    assert {r.start.astimezone(BERLIN).weekday() for r in rows} == {0}
    assert len({r.start.astimezone(UTC).time() for r in rows}) == 2  # UTC moves, local not
    gaps = {
        (b.start.astimezone(BERLIN).date() - a.start.astimezone(BERLIN).date())
        for a, b in itertools.pairwise(rows)
    }
    assert gaps == {timedelta(weeks=1)}


def test_every_other_week(world, session_type):
    created = create(world, session_type, next_weekday(2, time(11)), count=3, interval=2)
    days = [r.start.astimezone(BERLIN).date() for r in created.bookings.order_by("start")]
    assert [(b - a).days for a, b in itertools.pairwise(days)] == [14, 14]


def test_conflicts_are_shown_per_occurrence_and_nothing_is_written(world, session_type):
    first = next_weekday(1, time(10))
    taken = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=first + timedelta(weeks=2, minutes=30),
    )
    preview = series.preview(session_type, first_start=first, interval_weeks=1, count=4)
    assert [o.ok for o in preview] == [True, True, False, True]
    assert preview[2].conflicting_booking == taken.pk and preview[2].conflict
    with pytest.raises(SeriesConflicts) as caught:
        create(world, session_type, first)
    assert [o.ok for o in caught.value.occurrences] == [True, True, False, True]
    assert not BookingSeries.objects.exists()
    assert Booking.objects.count() == 1
    created = create(world, session_type, first, skip_conflicts=True)
    assert created.bookings.count() == 3


def test_buffers_count_in_the_conflict_check(world, session_type):
    first = next_weekday(3, time(10))
    # The existing booking ends at 10:50 + 10 min buffer; a series at 11:00 is free, at
    # 10:55 it is not (its own range would touch the buffer).
    do_book(patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=first)
    later = series.preview(
        session_type, first_start=first + timedelta(minutes=60), interval_weeks=1, count=2
    )
    assert all(o.ok for o in later)
    clash = series.preview(
        session_type, first_start=first + timedelta(minutes=55), interval_weeks=1, count=2
    )
    assert [o.ok for o in clash] == [False, True]


def test_a_local_time_that_does_not_exist_is_a_conflict(world, session_type):
    # Sundays 02:30 Berlin: the Sunday clocks go forward has no 02:30.
    today = timezone.now().astimezone(BERLIN).date()
    change = next(
        d
        for d in (today + timedelta(days=i) for i in range(1, 400))
        if d.weekday() == 6 and d.month == 3 and d.day > 24
    )
    first_day = change - timedelta(weeks=2)
    if first_day <= today:
        pytest.skip("too close to the change")
    first = datetime.combine(first_day, time(2, 30), BERLIN)
    preview = series.preview(session_type, first_start=first, interval_weeks=1, count=4)
    assert [o.ok for o in preview] == [True, True, False, True]
    assert preview[2].start is None and preview[2].local.date() == change


def test_bad_series_input(world, session_type):
    first = next_weekday(0, time(9))
    for kwargs in ({"count": 1}, {"count": 53}, {"interval": 3}):
        with pytest.raises(ValidationError):
            create(world, session_type, first, **kwargs)
    with pytest.raises(ValidationError):
        series.do_create_series(
            actor=world.b.specialist,
            brand=world.a.brand,
            patient=world.a.patient,
            session_type=session_type,
            first_start=first,
            interval_weeks=1,
            count=3,
        )
    assert not Booking.objects.exists() and not BookingSeries.objects.exists()


def test_change_from_one_occurrence_onward(world, session_type):
    first = next_weekday(0, time(9))
    created = create(world, session_type, first, count=6)
    rows = list(created.bookings.order_by("start"))
    new_start = rows[3].start.astimezone(BERLIN) + timedelta(days=1, hours=5)  # Tue 14:00
    moved = series.do_change_series_from(rows[3], actor=world.a.specialist, new_start=new_start)
    assert len(moved) == 3
    for row in rows[:3]:
        row.refresh_from_db()
        assert row.status == BookingStatus.CONFIRMED
    for old, new in zip(rows[3:], moved, strict=True):
        old.refresh_from_db()
        assert old.status == BookingStatus.RESCHEDULED and new.rescheduled_from == old
        local_start = new.start.astimezone(BERLIN)
        assert (local_start.weekday(), local_start.time()) == (1, time(14))
        assert new.series == created
    assert created.bookings.filter(status=BookingStatus.CONFIRMED).count() == 6


def test_a_change_onward_with_a_conflict_changes_nothing(world, session_type):
    first = next_weekday(0, time(9))
    created = create(world, session_type, first, count=4)
    rows = list(created.bookings.order_by("start"))
    target = rows[1].start + timedelta(days=1)
    do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=target + timedelta(weeks=1),
    )
    before = Booking.objects.count()
    with pytest.raises(SeriesConflicts) as caught:
        series.do_change_series_from(rows[1], actor=world.a.specialist, new_start=target)
    assert [o.ok for o in caught.value.occurrences] == [True, False, True]
    assert Booking.objects.count() == before
    assert created.bookings.filter(status=BookingStatus.CONFIRMED).count() == 4
    # Moving an occurrence onto the series' own later times is not a conflict with itself.
    same = series.preview_change_from(rows[1], new_start=rows[1].start + timedelta(hours=1))
    assert all(o.ok for o in same)


def test_cancel_from_one_occurrence_onward(world, session_type):
    created = create(world, session_type, next_weekday(4, time(9)), count=5)
    rows = list(created.bookings.order_by("start"))
    with pytest.raises(ValidationError):
        series.do_cancel_series_from(rows[2], actor=world.a.patient)
    cancelled = series.do_cancel_series_from(rows[2], actor=world.a.specialist)
    assert len(cancelled) == 3
    statuses = [b.status for b in created.bookings.order_by("start")]
    assert statuses == [BookingStatus.CONFIRMED] * 2 + [BookingStatus.CANCELLED_BY_SPECIALIST] * 3
