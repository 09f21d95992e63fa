"""Where the specialist finds the video session: the dashboard's "Today's sessions" card
(today's confirmed sessions on this site in the specialist's zone, the next few after
today, "Join video session" while a room is open, "Your patient is waiting" while the
patient is in it alone, an empty state) and the bookings list's join links. Only the
specialist's own bookings on the current site; a handful of queries however many."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.scheduling.models import AvailabilityRule
from caredoor.core.video import actions
from caredoor.core.video.models import Room, Side
from caredoor.portals.specialist.sessions import dashboard_sessions, join_cards
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.specialist_helpers import approved_and_listed

pytestmark = pytest.mark.django_db

DASHBOARD = "/specialist/"
BOOKINGS = "/specialist/bookings/"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def profile(world):  # type: ignore[no-untyped-def]
    """A's specialist, listed on a.brand and its sister, reading times in New York."""
    profile, _ = listed_with_hours(world.a, [world.a.brand, world.a.sister])
    profile.time_zone = "America/New_York"
    profile.save(update_fields=["time_zone"])
    return profile


@pytest.fixture
def kind(profile):  # type: ignore[no-untyped-def]
    return make_type(profile, name="Follow-up talk")


_days = iter(range(7, 60))


def book(patient, brand, session_type, start: datetime) -> Booking:  # type: ignore[no-untyped-def]
    """A confirmed booking (through ``do_book``), then moved to ``start`` (50 minutes)."""
    booking = do_book(
        patient=patient,
        brand=brand,
        session_type=session_type,
        start=local(12, days=next(_days), zone=NEW_YORK),
    )
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    return booking


def join_url(booking: Booking) -> str:
    return f"/specialist/bookings/{booking.pk}/join/"


def in_minutes(minutes: int) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


# --- the dashboard's card --------------------------------------------------------------------


def test_an_open_room_has_its_join_button_and_a_later_one_does_not(
    world, profile, kind, client_for
):
    world.a.patient.name = "Paula Patient"
    world.a.patient.save(update_fields=["name"])
    now_open = book(world.a.patient, world.a.brand, kind, in_minutes(5))
    later = book(world.a.patient, world.a.brand, kind, in_minutes(3 * 60))
    page = client_for(world.a.specialist, world.a.brand).get(DASHBOARD).content.decode()

    assert "Today&#x27;s sessions" in page or "Today's sessions" in page
    assert "Times in America/New_York." in page
    assert page.count("Follow-up talk with Paula Patient") == 2
    for booking in (now_open, later):
        assert f'href="/specialist/bookings/{booking.pk}/"' in page
        local_start = booking.start.astimezone(NEW_YORK)
        assert f"{local_start:%H:%M}</time>" in page  # in the specialist's zone
    assert f'href="{join_url(now_open)}">Join video session' in page
    assert join_url(later) not in page
    assert page.count("Join video session") == 1
    assert "Video room open" in page
    assert "Your patient is waiting" not in page
    if later.start.astimezone(NEW_YORK).date() == timezone.now().astimezone(NEW_YORK).date():
        opens = (later.start - timedelta(minutes=10)).astimezone(NEW_YORK)
        assert f"Room opens at {opens:%H:%M}" in page


def test_the_patient_waiting_alone_is_said(world, profile, kind, client_for):
    booking = book(world.a.patient, world.a.brand, kind, in_minutes(2))
    spec = client_for(world.a.specialist, world.a.brand)
    room = actions.room_for(booking)
    patient_in = actions.do_join(room, world.a.patient, Side.PATIENT)
    page = spec.get(DASHBOARD).content.decode()
    assert "Your patient is waiting in the video room." in page
    assert f'href="{join_url(booking)}">Join video session' in page

    specialist_in = actions.do_join(room, world.a.specialist, Side.SPECIALIST)
    assert "Your patient is waiting" not in spec.get(DASHBOARD).content.decode()
    actions.do_leave(specialist_in)
    actions.do_leave(patient_in)
    page = spec.get(DASHBOARD).content.decode()
    assert "Your patient is waiting" not in page
    assert "Join video session" in page  # the room is still open


def test_the_card_reads_rooms_and_creates_none(world, profile, kind, client_for):
    book(world.a.patient, world.a.brand, kind, in_minutes(5))
    client_for(world.a.specialist, world.a.brand).get(DASHBOARD)
    client_for(world.a.specialist, world.a.brand).get(BOOKINGS)
    assert not Room.objects.exists()


def test_only_this_sites_bookings_of_this_specialist(world, profile, kind, client_for):
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    on_sister = book(world.a.patient, world.a.sister, kind, in_minutes(5))
    # Another specialist of the same site, with a session open now.
    other_user = factories.make_user("other.specialist@example.test")
    factories.grant(other_user, "specialist", network=world.a.network, brand=world.a.brand)
    other_profile, _ = approved_and_listed(world.a, other_user, [world.a.brand], name="Dr. Other")
    other_profile.time_zone = "America/New_York"
    other_profile.save(update_fields=["time_zone"])
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=other_profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    other_patient = factories.make_user("other.patient@example.test", name="Olga Other")
    factories.grant(other_patient, "patient", network=world.a.network, brand=world.a.brand)
    others = book(other_patient, world.a.brand, make_type(other_profile), in_minutes(5))

    page = client_for(world.a.specialist, world.a.brand).get(DASHBOARD).content.decode()
    for booking in (on_sister, others):
        assert f"/specialist/bookings/{booking.pk}/" not in page
    assert "Olga Other" not in page and "Join video session" not in page
    assert "No sessions today." in page

    # On the sister site the card shows the sister's session.
    page = client_for(world.a.specialist, world.a.sister).get(DASHBOARD).content.decode()
    assert f'href="{join_url(on_sister)}">Join video session' in page
    # And the other specialist sees their own only.
    page = client_for(other_user, world.a.brand).get(DASHBOARD).content.decode()
    assert f'href="{join_url(others)}">Join video session' in page
    assert f"/specialist/bookings/{on_sister.pk}/" not in page


def test_cancelled_and_unconfirmed_sessions_are_not_listed(world, profile, kind, client_for):
    cancelled = book(world.a.patient, world.a.brand, kind, in_minutes(5))
    Booking.objects.filter(pk=cancelled.pk).update(status="cancelled_by_patient")
    page = client_for(world.a.specialist, world.a.brand).get(DASHBOARD).content.decode()
    assert f"/specialist/bookings/{cancelled.pk}/" not in page
    assert "Join video session" not in page


def test_the_empty_state(world, profile, client_for):
    page = client_for(world.a.specialist, world.a.brand).get(DASHBOARD).content.decode()
    assert 'id="sessions-h"' in page
    assert "No sessions today." in page
    assert "Nothing is scheduled here after today either." in page
    assert 'href="/specialist/bookings/">All bookings<' in page


def test_no_card_for_a_profile_not_yet_approved(world, client_for):
    from tests.specialist_helpers import complete_profile

    complete_profile(world.a.specialist, world.a.brand)
    page = client_for(world.a.specialist, world.a.brand).get(DASHBOARD).content.decode()
    assert 'id="sessions-h"' not in page


def test_today_and_the_next_sessions_by_the_specialists_day(world, profile, kind):
    """The days are the specialist's (New York): at 00:10 there, last night's session still
    in its grace period is today's; the rest of today; three sessions after today."""
    today = timezone.now().astimezone(NEW_YORK).date() + timedelta(days=1)

    def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today + timedelta(days=day_offset), time(hour, minute), NEW_YORK)

    brand, patient = world.a.brand, world.a.patient
    last_night = book(patient, brand, kind, at(-1, 23, 15))  # ends 00:05, open until 00:20
    long_gone = book(patient, brand, kind, at(-1, 20))
    morning = book(patient, brand, kind, at(0, 9))
    evening = book(patient, brand, kind, at(0, 22))
    later = [book(patient, brand, kind, at(days, 10)) for days in (1, 2, 3, 4)]

    card = dashboard_sessions(profile, brand, now=at(0, 0, 10))
    assert [row.booking for row in card.today] == [last_night, morning, evening]
    assert long_gone not in [row.booking for row in card.today + card.later]
    assert [row.booking for row in card.later] == later[:3]
    first, second = card.today[0], card.today[1]
    assert first.room.card.joinable and first.room.card.url == join_url(last_night)
    assert first.day and first.start == "23:15" and first.end == "00:05"
    assert not second.room.card.joinable and second.opens == "08:50" and second.day == ""
    assert card.later[0].day and card.later[0].start == "10:00"
    assert card.zone == "America/New_York"

    # After a session's window the row says so (the outcome can be recorded); the evening
    # session (22:00-22:50) is still in its 15 minutes' grace at 22:55, and over at 23:06.
    card = dashboard_sessions(profile, brand, now=at(0, 22, 55))
    assert [row.over for row in card.today] == [True, True, False]
    assert card.today[2].room.card.joinable
    card = dashboard_sessions(profile, brand, now=at(0, 23, 6))
    assert [row.over for row in card.today] == [True, True, True]
    assert not any(row.room.card.joinable for row in card.today)


def test_the_card_takes_a_handful_of_queries(world, profile, kind, django_assert_max_num_queries):
    """Two rooms open at once (one in its grace period, one about to start), and more
    sessions later: the card is three queries, the rooms' state one."""
    starts = [-60, 5, *(65 + 60 * n for n in range(4))]
    bookings = [book(world.a.patient, world.a.brand, kind, in_minutes(m)) for m in starts]
    rooms = [actions.room_for(b) for b in bookings[:3]]
    for room in rooms:
        actions.do_join(room, world.a.patient, Side.PATIENT)
    actions.do_join(rooms[1], world.a.specialist, Side.SPECIALIST)
    with django_assert_max_num_queries(3):
        card = dashboard_sessions(profile, world.a.brand)
    rows = {row.booking.pk: row for row in card.today + card.later}
    assert len(rows) >= 4
    assert rows[bookings[0].pk].room.card.patient_waiting
    # The bookings as the pages fetch them (with their brand).
    fetched = list(Booking.objects.select_related("brand").filter(pk__in=[b.pk for b in bookings]))
    with django_assert_max_num_queries(1):
        states = join_cards(fetched, world.a.brand)
    cards = [states[b.pk].card for b in bookings[:3]]
    assert [c.joinable for c in cards] == [True, True, False]
    # Alone in the room / with the specialist / in a room that is not open.
    assert [c.patient_waiting for c in cards] == [True, False, False]


# --- the bookings list -----------------------------------------------------------------------


def test_the_bookings_list_links_open_rooms(world, profile, kind, client_for):
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    # Ended five minutes ago, in its grace period: in "Past and cancelled", still open.
    just_over = book(world.a.patient, world.a.brand, kind, in_minutes(-55))
    on_sister = book(world.a.patient, world.a.sister, kind, in_minutes(5))
    later = book(world.a.patient, world.a.brand, kind, in_minutes(4 * 60))
    finished = book(world.a.patient, world.a.brand, kind, in_minutes(-3 * 60))

    spec = client_for(world.a.specialist, world.a.brand)
    page = spec.get(BOOKINGS).content.decode()
    assert page.count("Join video session") == 1
    assert f'href="{join_url(just_over)}">Join video session' in page
    assert page.index(join_url(just_over)) > page.index('id="past-h"')
    for booking in (later, finished, on_sister):
        assert f"/specialist/bookings/{booking.pk}/" in page  # listed
        assert join_url(booking) not in page  # no way into a closed room, nor another site's
    assert "Video room open: join it on Sister A." in page
    assert "Your patient is waiting" not in page

    actions.do_join(actions.room_for(just_over), world.a.patient, Side.PATIENT)
    page = spec.get(BOOKINGS).content.decode()
    assert page.count("Your patient is waiting in the video room.") == 1

    # On the sister site it is the other way round.
    page = client_for(world.a.specialist, world.a.sister).get(BOOKINGS).content.decode()
    assert f'href="{join_url(on_sister)}">Join video session' in page
    assert page.index(join_url(on_sister)) < page.index('id="past-h"')  # upcoming
    assert join_url(just_over) not in page
    assert "Video room open: join it on Brand A." in page
