"""The patient's home answers "what's next", from real state, on this brand only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.choices import JourneyMode
from caredoor.core.care.queries import patient_relationships
from tests.booking_helpers import listed_with_hours, local, make_type

pytestmark = pytest.mark.django_db


def _move(booking, start, **fields) -> None:  # type: ignore[no-untyped-def]
    end = start + timedelta(minutes=50)
    Booking.objects.filter(pk=booking.pk).update(
        start=start, end=end, blocked_start=start, blocked_end=end + timedelta(minutes=10), **fields
    )


def _page(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _book(world, days: int = 7):  # type: ignore[no-untyped-def]
    profile = listed_with_hours(world.a)[0]
    session_type = make_type(profile, name="Intake")
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=local(10, days=days),
    )
    return profile, booking


def test_a_new_patient_is_sent_to_find_a_specialist_the_brands_way(world, client_for):
    page = _page(client_for(world.a.patient, world.a.brand))
    assert "Find a specialist who fits you" in page
    assert 'href="/specialists/"' in page


def test_the_first_booking_starts_the_care_relationship_and_shows_the_join_time(world, client_for):
    profile, booking = _book(world)
    rels = list(patient_relationships(world.a.patient, world.a.brand))
    assert [(r.profile_id, r.source) for r in rels] == [(profile.pk, "directory")]
    page = _page(client_for(world.a.patient, world.a.brand))
    assert f"/sessions/{booking.pk}/" in page
    assert "You can join from" in page
    assert "Find a specialist who fits you" not in page


def test_a_session_about_to_start_offers_to_join(world, client_for):
    _profile, booking = _book(world)
    # Move the booking to start in five minutes (inside the join window).
    start = timezone.now() + timedelta(minutes=5)
    _move(booking, start)
    page = _page(client_for(world.a.patient, world.a.brand))
    assert f"/sessions/{booking.pk}/join/" in page
    assert "Join the session" in page


def test_after_a_completed_session_the_home_proposes_a_follow_up(world, client_for):
    profile, booking = _book(world)
    past = timezone.now() - timedelta(days=2)
    _move(booking, past, status=BookingStatus.COMPLETED)
    page = _page(client_for(world.a.patient, world.a.brand))
    assert "Book a follow-up session with" in page
    assert f"/specialists/{profile.pk}/book/" in page
    # Once the next session is planned, the follow-up prompt goes away.
    do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=booking.session_type,
        start=local(11, days=9),
    )
    assert "Book a follow-up session with" not in _page(client_for(world.a.patient, world.a.brand))


def test_another_brand_shows_nothing_of_this_brands_care(world, client_for):
    from tests import factories

    _profile, booking = _book(world)
    # The same person is also a patient of the sister brand.
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    page = _page(client_for(world.a.patient, world.a.sister))
    assert f"/sessions/{booking.pk}/" not in page
    assert "Intake" not in page
    assert "Book a follow-up" not in page
    assert not patient_relationships(world.a.patient, world.a.sister).exists()


@pytest.mark.parametrize(
    ("mode", "text"),
    [
        (JourneyMode.MATCHING, "Find your specialist: answer a few short questions"),
        (JourneyMode.ASSISTED, "Tell our team what you need and when you can"),
    ],
)
def test_the_find_step_follows_the_journey_mode(world, client_for, mode, text):
    world.a.brand.journey_mode = mode
    world.a.brand.save(update_fields=["journey_mode"])
    page = _page(client_for(world.a.patient, world.a.brand))
    assert text in page


def test_a_completed_session_asks_for_feedback_once(world, client_for):
    from caredoor.core.feedback.actions import do_skip_feedback

    brand = world.a.brand
    brand.modules = sorted({*brand.modules, "feedback"})
    brand.save(update_fields=["modules"])
    _profile, booking = _book(world)
    _move(booking, timezone.now() - timedelta(days=1), status=BookingStatus.COMPLETED)
    page = _page(client_for(world.a.patient, brand))
    assert "How was your session with" in page
    assert f"/feedback/{booking.pk}/" in page
    booking.refresh_from_db()
    do_skip_feedback(booking, patient=world.a.patient)
    assert f"/feedback/{booking.pk}/" not in _page(client_for(world.a.patient, brand))


def test_a_completed_sessions_page_offers_feedback_and_a_follow_up(world, client_for):
    brand = world.a.brand
    brand.modules = sorted({*brand.modules, "feedback"})
    brand.save(update_fields=["modules"])
    profile, booking = _book(world)
    client = client_for(world.a.patient, brand)
    page = client.get(f"/sessions/{booking.pk}/").content.decode()
    assert "You can join from" in page and "Book a follow-up session" not in page
    _move(booking, timezone.now() - timedelta(days=1), status=BookingStatus.COMPLETED)
    page = client.get(f"/sessions/{booking.pk}/").content.decode()
    assert f"/feedback/{booking.pk}/" in page
    assert f"/specialists/{profile.pk}/book/" in page
    # A past session shows the terms as agreed, not "cancelling is charged" now.
    assert "window has passed" not in page and "can no longer be moved" not in page


def test_terms_whose_deadline_has_passed_say_so_instead_of_a_past_time():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from caredoor.portals.patient.booking_display import policy_lines

    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2030, 5, 6, 10, 0, tzinfo=zone)
    terms = {
        "cancel_notice_hours": 24,
        "late_cancel_fee_percent": 50,
        "no_show_fee_percent": 100,
        "reschedule_notice_hours": 12,
    }
    early = policy_lines(terms, start, zone, now=start - timedelta(days=3))
    assert any(line.startswith("Free cancellation until 24 hours before") for line in early)
    assert any(line.startswith("You can move the session until 12 hours before") for line in early)
    # Without ``now``: the terms as agreed, with their deadlines (a past session's page).
    assert policy_lines(terms, start, zone) == early
    late = policy_lines(terms, start, zone, now=start - timedelta(hours=5))
    assert "The free cancellation window has passed: cancelling is charged 50\xa0%." in late or any(
        "window has passed" in line for line in late
    )
    assert not any("Free cancellation until" in line for line in late)
    assert "The session can no longer be moved; you can still cancel it." in late


def test_home_is_not_the_current_page_on_pages_outside_the_navigation(world, client_for):
    world.a.brand.journey_mode = JourneyMode.MATCHING
    world.a.brand.save(update_fields=["journey_mode"])
    profile = listed_with_hours(world.a)[0]
    client = client_for(world.a.patient, world.a.brand)
    assert 'href="/" aria-current="page"' in _page(client)
    page = client.get(f"/specialists/{profile.pk}/").content.decode()
    assert 'href="/" aria-current="page"' not in page
