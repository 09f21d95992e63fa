"""Bookings: validation, buffers, cancellation, and no double booking under concurrency."""

from __future__ import annotations

import itertools
import threading
import time as clock
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from caredoor.core.booking import writes
from caredoor.core.booking.actions import do_book, do_cancel, next_free_slots
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.booking.queries import busy_intervals
from caredoor.core.brands.models import Brand
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.scheduling.availability import free_slots
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.core.specialists.pricing import listing_price
from tests import factories
from tests.specialist_helpers import approved_and_listed

BERLIN = ZoneInfo("Europe/Berlin")
pg_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the exclusion constraint exists on PostgreSQL only"
)


@pytest.fixture
def listed(world):
    """A specialist approved and listed on a.brand only, open 09:00-17:00 Berlin every day."""
    profile, listings = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    assert profile.time_zone == "Europe/Berlin"
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    return profile, listings[0]


def make_type(profile, **fields) -> SessionType:  # type: ignore[no-untyped-def]
    values = {
        "name": "Session",
        "duration_minutes": 50,
        "buffer_after_minutes": 10,
        "slot_step_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 60,
        **fields,
    }
    return SessionType.objects.create(profile=profile, **values)


@pytest.fixture
def session_type(listed) -> SessionType:
    return make_type(listed[0])


def local(hour: int, minute: int = 0, days: int = 7) -> datetime:
    """``days`` from today at hh:mm Berlin wall-clock time."""
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), BERLIN)


def patients(side, n: int) -> list:  # type: ignore[no-untyped-def]
    made = []
    for i in range(n):
        user = factories.make_user(f"racer{i}.{next(_emails)}@example.test")
        factories.grant(user, "patient", network=side.network, brand=side.brand)
        made.append(user)
    return made


_emails = itertools.count()


def booking_events():  # type: ignore[no-untyped-def]
    return AuditEvent.objects.filter(action__startswith="booking.")


# --- the happy path ----------------------------------------------------------------------


def test_a_patient_books_a_free_slot(world, listed, session_type):
    _profile, listing = listed
    start = local(10)
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=start
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.start == start.astimezone(UTC) and booking.start.tzinfo is not None
    assert booking.end - booking.start == timedelta(minutes=50)
    assert booking.blocked_start == booking.start
    assert booking.blocked_end == booking.end + timedelta(minutes=10)
    price = listing_price(listing)
    assert price.amount_minor == 9000
    assert (booking.price_minor, booking.currency) == (9000, price.currency)
    assert booking.patient_time_zone
    assert booking.created_by == world.a.patient
    event = booking_events().get()
    assert event.action == "booking.created"
    assert event.target_id == str(booking.pk) and event.actor == world.a.patient
    assert event.brand == world.a.brand
    assert set(event.data) == {"profile", "session_type", "start", "end", "status"}
    # The price is a snapshot: changing the listing later does not rewrite the booking.
    listing.price_minor = 12000
    listing.save()
    booking.refresh_from_db()
    assert booking.price_minor == 9000


def test_busy_intervals_carry_each_bookings_buffers(world, listed, session_type):
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    (busy,) = busy_intervals(listed[0], local(0), local(23))
    assert (busy.start, busy.end) == (booking.start, booking.end)
    assert busy.blocked == (booking.blocked_start, booking.blocked_end)
    assert busy_intervals(listed[0], local(11), local(12)) == []  # touching is not overlapping


# --- refusals change nothing -------------------------------------------------------------


def _refused(code: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        do_book(**kwargs)
    assert caught.value.code == code, caught.value
    assert not Booking.objects.exists()
    assert not booking_events().exists()


def test_refusals_change_nothing(world, listed, session_type):
    profile = listed[0]
    ok = {"patient": world.a.patient, "brand": world.a.brand, "session_type": session_type}

    # Not a patient of this brand: another network's brand, the sister brand, other roles.
    _refused("not_patient", **{**ok, "brand": world.b.brand}, start=local(10))
    _refused("not_patient", **{**ok, "brand": world.a.sister}, start=local(10))
    for role in ("specialist", "affiliate", "operator", "org_admin"):
        _refused("not_patient", **{**ok, "patient": getattr(world.a, role)}, start=local(10))
    _refused("not_patient", **{**ok, "patient": world.outsider}, start=local(10))

    # A patient of the sister brand, where this specialist is not listed.
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    _refused("not_listed", **{**ok, "brand": world.a.sister}, start=local(10))

    # Session types: inactive, offered on another brand only, invitation only.
    inactive = make_type(profile, name="Old", is_active=False)
    _refused("session_type_unavailable", **{**ok, "session_type": inactive}, start=local(10))
    elsewhere = make_type(profile, name="Sister only", brand=world.a.sister)
    _refused("session_type_unavailable", **{**ok, "session_type": elsewhere}, start=local(10))
    invited = make_type(profile, name="By invitation", direct_booking=False)
    _refused("invitation_only", **{**ok, "session_type": invited}, start=local(10))
    here = make_type(profile, name="Here only", brand=world.a.brand)
    assert do_book(**{**ok, "session_type": here}, start=local(12)).pk

    Booking.objects.all().delete()
    created = booking_events().count()

    def refused_time(start: datetime, st: SessionType = session_type) -> None:
        with pytest.raises(ValidationError) as caught:
            do_book(**{**ok, "session_type": st}, start=start)
        assert caught.value.code == "not_available"
        assert caught.value.messages == ["This time is not available."]
        assert not Booking.objects.exists() and booking_events().count() == created

    refused_time(local(10, 5))  # off the 15-minute grid
    refused_time(local(16, 30))  # would end after closing
    refused_time(local(20))  # outside the hours
    refused_time(local(10, days=-1))  # in the past
    refused_time(local(10, days=61))  # beyond the horizon
    refused_time(
        local(10), make_type(profile, name="Two weeks' notice", min_notice_minutes=14 * 24 * 60)
    )
    soon = timezone.now() + timedelta(minutes=30)  # inside the 60-minute notice
    refused_time(soon.replace(minute=soon.minute // 15 * 15, second=0, microsecond=0))
    with pytest.raises(ValidationError):
        do_book(**ok, start=local(10).replace(tzinfo=None))


# --- buffers -----------------------------------------------------------------------------


def test_both_sides_buffers_widen_both_ranges(world, listed, session_type):
    profile = listed[0]
    other = patients(world.a, 3)
    booked = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    assert booked.end == local(10, 50) and booked.blocked_end == local(11)  # 10-minute buffer
    prepared = make_type(profile, name="Prepared", buffer_before_minutes=15, buffer_after_minutes=0)

    # The engine agrees with the database: 11:00 is free for a type without buffer before,
    # not for one that needs 15 minutes before (10:45 < 11:00).
    busy = busy_intervals(profile, local(0), local(23, 59))
    day = {"start": local(0), "end": local(23, 59), "now": timezone.now(), "busy": busy}
    assert local(11) in [s.start for s in free_slots(session_type, **day)]
    assert local(11) not in [s.start for s in free_slots(prepared, **day)]
    assert local(11, 15) in [s.start for s in free_slots(prepared, **day)]
    assert local(9) in [s.start for s in free_slots(session_type, **day)]  # 9:50 + 10 touches
    assert local(9, 15) not in [s.start for s in free_slots(session_type, **day)]

    with pytest.raises(SlotTaken):
        do_book(patient=other[0], brand=world.a.brand, session_type=prepared, start=local(11))
    with pytest.raises(SlotTaken):  # 9:15-10:05: overlaps 10:00 (its buffer too)
        do_book(
            patient=other[0], brand=world.a.brand, session_type=session_type, start=local(9, 15)
        )
    assert do_book(
        patient=other[0], brand=world.a.brand, session_type=prepared, start=local(11, 15)
    )
    # 11:15 - 15 minutes before = 11:00: touches the first booking's buffer, does not overlap.
    assert do_book(patient=other[1], brand=world.a.brand, session_type=session_type, start=local(9))
    assert Booking.objects.count() == 3


# --- cancelling ---------------------------------------------------------------------------


def test_cancelling_frees_the_time(world, listed, session_type):
    second = patients(world.a, 1)[0]
    kwargs = {"brand": world.a.brand, "session_type": session_type, "start": local(10)}
    booking = do_book(patient=world.a.patient, **kwargs)
    with pytest.raises(SlotTaken) as taken:
        do_book(patient=second, **kwargs)
    assert str(taken.value) == "This time was just taken. Here are the next free times."
    assert 0 < len(taken.value.alternatives) <= 5

    with pytest.raises(ValidationError):
        do_cancel(booking, by="patient", actor=second)  # not theirs
    with pytest.raises(ValidationError):
        do_cancel(booking, by="specialist", actor=world.a.patient)
    assert Booking.objects.get().status == BookingStatus.CONFIRMED

    do_cancel(booking, by="patient", actor=world.a.patient, reason="Feeling unwell")
    assert booking.status == BookingStatus.CANCELLED_BY_PATIENT and booking.cancelled_at
    event = booking_events().get(action="booking.cancelled")
    assert "Feeling" not in str(event.data) and event.data["by"] == "patient"
    assert busy_intervals(listed[0], local(0), local(23)) == []
    with pytest.raises(ValidationError):
        do_cancel(booking, by="patient", actor=world.a.patient)  # once only

    rebooked = do_book(patient=second, **kwargs)
    do_cancel(rebooked, by="specialist", actor=world.a.specialist)
    assert Booking.objects.get(pk=rebooked.pk).status == BookingStatus.CANCELLED_BY_SPECIALIST
    assert do_book(patient=world.a.patient, **kwargs)
    assert Booking.objects.filter(status__in=["confirmed"]).count() == 1


# --- the races ----------------------------------------------------------------------------


def _race(starts: list[datetime], users: list, brand_id: int, type_id: int) -> list:  # type: ignore[no-untyped-def]
    """Each thread books its start for its patient, all released together."""
    barrier = threading.Barrier(len(starts))
    results: list = [None] * len(starts)

    def run(i: int) -> None:
        try:
            brand = Brand.objects.get(pk=brand_id)
            session_type = SessionType.objects.select_related("profile").get(pk=type_id)
            barrier.wait()
            try:
                booking = do_book(
                    patient=users[i], brand=brand, session_type=session_type, start=starts[i]
                )
                results[i] = ("ok", booking.pk)
            except SlotTaken as taken:
                results[i] = ("taken", taken.alternatives)
        except BaseException as error:  # anything else fails the test
            results[i] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(starts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_for_one_slot_book_it_once(world, listed, session_type):
    users = patients(world.a, 50)
    start = next_free_slots(session_type)[0].start  # the soonest slot: alternatives are near it
    began = clock.perf_counter()
    results = _race([start] * 50, users, world.a.brand.pk, session_type.pk)
    elapsed = clock.perf_counter() - began
    print(f"\n50 racers for one slot on {connection.vendor}: {elapsed:.2f} s")

    assert [r for r in results if r[0] == "error"] == []
    winners = [r for r in results if r[0] == "ok"]
    losers = [r for r in results if r[0] == "taken"]
    assert len(winners) == 1 and len(losers) == 49
    booking = Booking.objects.get()
    assert booking.pk == winners[0][1] and booking.start == start
    for _kind, alternatives in losers:
        assert alternatives and len(alternatives) <= 5
        assert start not in [a.start for a in alternatives]
        for a in alternatives:  # none overlaps the booking, buffers included
            assert a.end + timedelta(minutes=10) <= booking.blocked_start or (
                a.start >= booking.blocked_end
            )
    assert AuditEvent.objects.filter(action="booking.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_starts_never_store_overlaps(world, listed, session_type):
    users = patients(world.a, 20)
    starts = [local(10) + timedelta(minutes=15 * (i % 8)) for i in range(20)]  # 10:00-11:45
    began = clock.perf_counter()
    results = _race(starts, users, world.a.brand.pk, session_type.pk)
    elapsed = clock.perf_counter() - began
    print(f"\n20 racers for overlapping starts on {connection.vendor}: {elapsed:.2f} s")

    assert [r for r in results if r[0] == "error"] == []
    stored = list(Booking.objects.order_by("blocked_start"))
    assert 1 <= len(stored) == sum(1 for r in results if r[0] == "ok")
    for a, b in itertools.combinations(stored, 2):
        assert a.blocked_end <= b.blocked_start or b.blocked_end <= a.blocked_start, (a, b)
    # 10:00-11:45 starts, 60 minutes blocked each: at most two fit (e.g. 10:00 and 11:00).
    assert len(stored) <= 2


# --- PostgreSQL: the constraint itself ----------------------------------------------------


def _raw_booking(world, session_type, start: datetime, status: str) -> Booking:  # type: ignore[no-untyped-def]
    end = start + timedelta(minutes=50)
    return Booking.objects.create(
        brand=world.a.brand,
        profile=session_type.profile,
        patient=world.a.patient,
        session_type=session_type,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end + timedelta(minutes=10),
        status=status,
        patient_time_zone="Europe/Berlin",
        currency="EUR",
    )


@pg_only
def test_the_exclusion_constraint_refuses_overlaps_written_past_the_action(
    world, listed, session_type
):
    _raw_booking(world, session_type, local(10), BookingStatus.CONFIRMED)
    for status in (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT, BookingStatus.PROPOSED):
        with pytest.raises(IntegrityError, match="booking_no_overlap"), transaction.atomic():
            _raw_booking(world, session_type, local(10, 55), status)  # into the buffer
    # Touching is fine; inactive bookings may overlap active ones.
    _raw_booking(world, session_type, local(11), BookingStatus.CONFIRMED)
    _raw_booking(world, session_type, local(10, 30), BookingStatus.CANCELLED_BY_PATIENT)
    _raw_booking(world, session_type, local(10, 30), BookingStatus.REQUESTED)
    assert Booking.objects.count() == 4


@pg_only
def test_a_constraint_violation_reaches_the_caller_as_slot_taken(
    world, listed, session_type, monkeypatch
):
    do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    second = patients(world.a, 1)[0]
    # As if a concurrent request had passed the pre-check before the first one committed.
    monkeypatch.setattr(writes, "overlapping", lambda *args, **kwargs: None)
    with pytest.raises(SlotTaken) as taken:
        do_book(patient=second, brand=world.a.brand, session_type=session_type, start=local(10, 30))
    assert local(10, 30) not in [a.start for a in taken.value.alternatives]
    assert Booking.objects.count() == 1
