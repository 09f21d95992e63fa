"""The patient's side of booking: free times in the viewer's zone, booking with the policy
shown first, SlotTaken alternatives, cancelling and moving within the policy's windows,
answering proposals, availability requests, and scoping (another patient's or another
brand's booking is 404 for every page and every POST, and nothing changes)."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book, next_free_slots
from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus
from caredoor.core.booking.proposals import do_propose
from caredoor.core.booking.requests import do_request_availability
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.portals.patient.booking_display import slot_value, when
from tests import factories
from tests.specialist_helpers import approved_and_listed

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def profile(world):
    """World A's specialist, listed on brand A, open 09:00-17:00 Berlin time every day."""
    profile, _listings = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    return profile


def make_type(profile, **fields) -> SessionType:  # type: ignore[no-untyped-def]
    values = {
        "name": "Session",
        "duration_minutes": 50,
        "buffer_after_minutes": 10,
        "slot_step_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 200,
        **fields,
    }
    return SessionType.objects.create(profile=profile, **values)


@pytest.fixture
def session_type(profile) -> SessionType:
    return make_type(profile)


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text with tags removed and entities decoded, whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(body))


def slot_after(session_type: SessionType, days: int = 3) -> datetime:
    """A free start ``days`` or more from now."""
    return next_free_slots(session_type, now=timezone.now() + timedelta(days=days), limit=1)[
        0
    ].start


def book_url(profile, **params) -> str:  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return f"/specialists/{profile.pk}/book/" + (f"?{query}" if query else "")


def confirm_url(profile, session_type, start) -> str:  # type: ignore[no-untyped-def]
    return (
        f"/specialists/{profile.pk}/book/confirm/"
        f"?type={session_type.pk}&start={quote(slot_value(start))}"
    )


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_sunday_change(zone: ZoneInfo, after: date) -> date:
    """The next day after ``after`` on which ``zone``'s offset changes."""
    day = after
    while True:
        day += timedelta(days=1)
        a = datetime.combine(day, time(0), zone).utcoffset()
        b = datetime.combine(day + timedelta(days=1), time(0), zone).utcoffset()
        if a != b:
            return day


def booked(world, session_type, days: int = 3) -> Booking:  # type: ignore[no-untyped-def]
    return do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=slot_after(session_type, days),
    )


def at(moment: datetime):  # type: ignore[no-untyped-def]
    """Freeze the clock the views and actions read."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


# --- free times in the viewer's zone ------------------------------------------------------------


def test_free_times_are_shown_in_the_patients_zone_with_the_zone_named(
    world, client_for, profile, session_type
):
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    week = monday(timezone.now().date() + timedelta(days=14))
    response = client_for(world.a.patient, world.a.brand).get(
        book_url(profile, type=session_type.pk, week=week.isoformat())
    )
    assert response.status_code == 200
    page = text(response)
    # 09:00-17:00 in Berlin (UTC+1) is 03:00-11:00 in New York (UTC-5) in winter.
    assert "Times in America/New York (EST)" in page
    tuesday = datetime.combine(week + timedelta(days=1), time(3), NEW_YORK)
    body = response.content.decode()
    assert f'value="{slot_value(tuesday)}"' in body
    assert f'aria-label="{when(tuesday, NEW_YORK)}"' in body
    # Grouped by day, Monday to Sunday, with the week's navigation.
    sunday = week + timedelta(days=6)
    assert page.index(f"Mon {week.day} ") < page.index(f"Sun {sunday.day} ")
    assert "Previous week" in page and "Next week" in page


def test_visitors_see_the_brands_zone_and_the_next_available_time(
    world, client_for, profile, session_type
):
    response = client_for(None, world.a.brand).get(book_url(profile))
    assert response.status_code == 200
    first = next_free_slots(session_type, limit=1)[0]
    body = response.content.decode()
    assert re.search(r"Times in <strong>Europe/Berlin \(CES?T\)</strong>", body)
    assert "Next available time:" in body
    assert when(first.start, BERLIN) in text(response)
    # The next available time stands out in the grid.
    assert re.search(rf'value="{re.escape(slot_value(first.start))}" class="slot slot--next"', body)


def test_a_week_with_a_clock_change_names_both_abbreviations(
    world, client_for, profile, session_type
):
    """New York moves its clocks two weeks before Berlin: in that week the same 09:00 in
    Berlin is 03:00 before the change and 04:00 after it, and the page says so."""
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    change = next_sunday_change(NEW_YORK, timezone.now().date() + timedelta(days=2))
    if (change - timezone.now().date()).days > 190:
        pytest.skip("the next change is beyond the horizon")
    week = monday(change)
    response = client_for(world.a.patient, world.a.brand).get(
        book_url(profile, type=session_type.pk, week=week.isoformat())
    )
    page = text(response)
    before_offset = datetime.combine(week, time(12), NEW_YORK).tzname()
    after_offset = datetime.combine(change + timedelta(1), time(12), NEW_YORK).tzname()
    assert f"Times in America/New York ({before_offset} / {after_offset})" in page
    assert "The clocks go" in page
    body = response.content.decode()
    for day in (week, change):
        berlin_nine = datetime.combine(day, time(9), BERLIN)
        local = berlin_nine.astimezone(NEW_YORK)
        assert f'aria-label="{when(berlin_nine, NEW_YORK)}"' in body
        assert local.date() == day
    # The same Berlin 09:00 reads differently on either side of the change.
    assert (
        datetime.combine(week, time(9), BERLIN).astimezone(NEW_YORK).hour
        != datetime.combine(change, time(9), BERLIN).astimezone(NEW_YORK).hour
    )


def test_switching_the_zone_is_saved_on_the_patients_account(
    world, client_for, profile, session_type
):
    client = client_for(world.a.patient, world.a.brand)
    response = client.post(
        "/time-zone/", {"zone": "Asia/Tokyo", "next": f"/specialists/{profile.pk}/book/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/specialists/{profile.pk}/book/"
    world.a.patient.refresh_from_db()
    assert world.a.patient.time_zone == "Asia/Tokyo"
    assert "Times in Asia/Tokyo (JST)" in text(client.get(book_url(profile)))


def test_visitors_zone_lasts_for_the_visit_and_bad_input_changes_nothing(
    world, client_for, profile, session_type
):
    client = client_for(None, world.a.brand)
    client.post("/time-zone/", {"zone": "Asia/Kolkata", "next": "/"})
    assert "Times in Asia/Kolkata (IST)" in text(client.get(book_url(profile)))
    response = client.post("/time-zone/", {"zone": "Mars/Olympus", "next": "https://evil.test/"})
    assert response["Location"] == "/"
    assert "Times in Asia/Kolkata (IST)" in text(client.get(book_url(profile)))


# --- booking --------------------------------------------------------------------------------------


def test_the_policy_and_price_are_shown_before_confirming_and_booking_works(
    world, client_for, profile, session_type
):
    client = client_for(world.a.patient, world.a.brand)
    start = slot_after(session_type)
    response = client.get(confirm_url(profile, session_type, start))
    assert response.status_code == 200
    page = text(response)
    assert "Session, 50 minutes" in page
    assert "Dr. Listed" in page
    assert "90.00 EUR" in page
    assert when(start, BERLIN) in page
    assert re.search(r"Times in Europe/Berlin \(CES?T\)", page)
    free_until = when(start - timedelta(hours=24), BERLIN)
    assert (
        f"Free cancellation until 24 hours before ({free_until}); later cancellations are "
        "charged 50 %." in page
    )
    assert "A missed session is charged 100 %." in page
    assert f"You can move the session until 24 hours before ({free_until})." in page
    assert Booking.objects.count() == 0

    response = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{booking.pk}/"
    assert (booking.patient, booking.start, booking.status) == (
        world.a.patient,
        start,
        BookingStatus.CONFIRMED,
    )
    detail = text(client.get(response["Location"]))
    assert "Your session is booked." in detail
    assert when(start, BERLIN) in detail
    # ... and it is under My sessions.
    assert "Session with Dr. Listed" in text(client.get("/sessions/"))


def test_visitors_are_sent_to_sign_in_and_come_back_to_the_same_time(
    world, client_for, profile, session_type
):
    url = confirm_url(profile, session_type, slot_after(session_type))
    response = client_for(None, world.a.brand).get(url)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=" + quote(url, safe="/")


def test_a_time_just_taken_offers_the_next_free_times_in_one_click(
    world, client_for, profile, session_type
):
    start = slot_after(session_type)
    other = factories.make_user("other.patient@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    do_book(patient=other, brand=world.a.brand, session_type=session_type, start=start)
    client = client_for(world.a.patient, world.a.brand)
    # Opened after the time went: the page says so at once and offers others.
    page = client.get(confirm_url(profile, session_type, start))
    assert page.status_code == 200
    assert "This time is no longer available" in text(page)
    assert "Book this session" not in text(page)
    # Confirmed after it went: SlotTaken, nothing written.
    response = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    assert response.status_code == 409
    assert "This time was just taken" in text(response)
    alternatives = next_free_slots(session_type, limit=5)
    body = response.content.decode()
    for slot in alternatives:
        assert f'name="start" value="{slot_value(slot.start)}"' in body
    assert Booking.objects.filter(patient=world.a.patient).count() == 0
    # One click on an alternative books it.
    response = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(alternatives[0].start)},
    )
    assert response.status_code == 302
    assert Booking.objects.get(patient=world.a.patient).start == alternatives[0].start


def test_a_time_off_the_grid_is_refused_with_its_message(world, client_for, profile, session_type):
    start = slot_after(session_type) + timedelta(minutes=7)
    events = AuditEvent.objects.count()
    response = client_for(world.a.patient, world.a.brand).post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    assert response.status_code == 400
    assert "This time is not available." in text(response)
    assert Booking.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_invitation_only_session_types_offer_a_request_instead(world, client_for, profile):
    only_invited = make_type(profile, name="Follow-up", direct_booking=False)
    client = client_for(world.a.patient, world.a.brand)
    page = text(client.get(book_url(profile, type=only_invited.pk)))
    assert "can only be booked by the specialist's invitation" in page
    assert "Ask Dr. Listed for a time" in page
    start = slot_after(only_invited)
    response = client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": only_invited.pk, "start": slot_value(start)},
    )
    assert response.status_code == 400
    assert Booking.objects.count() == 0


def test_a_specialist_not_listed_here_has_no_booking_pages(
    world, client_for, profile, session_type
):
    client = client_for(world.a.patient, world.a.brand)
    assert client.get(f"/specialists/{profile.pk + 999}/book/").status_code == 404
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    sister = client_for(world.a.patient, world.a.sister)
    assert sister.get(book_url(profile)).status_code == 404
    assert (
        sister.get(confirm_url(profile, session_type, slot_after(session_type))).status_code == 404
    )


# --- cancelling and moving --------------------------------------------------------------------


def test_cancellation_terms_at_the_window_edge(world, client_for, session_type):
    booking = booked(world, session_type)
    edge = booking.start - timedelta(hours=24)
    client = client_for(world.a.patient, world.a.brand)
    with at(edge):
        page = text(client.get(f"/sessions/{booking.pk}/cancel/"))
    assert "Cancelling now is free of charge" in page
    with at(edge + timedelta(seconds=1)):
        page = text(client.get(f"/sessions/{booking.pk}/cancel/"))
        assert "This is a late cancellation" in page
        assert "50 % of the price (45.00 EUR) will be charged." in page
        assert "Yes, cancel and accept the fee" in page
        response = client.post(f"/sessions/{booking.pk}/cancel/", {"reason": ""})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.fee_percent) == (BookingStatus.CANCELLED_BY_PATIENT, 50)


def test_free_cancellation(world, client_for, session_type):
    booking = booked(world, session_type)
    client = client_for(world.a.patient, world.a.brand)
    response = client.post(f"/sessions/{booking.pk}/cancel/", {"reason": "Feeling better"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.fee_percent) == (BookingStatus.CANCELLED_BY_PATIENT, None)
    assert "Your session is cancelled, free of charge." in text(client.get(response["Location"]))


def test_moving_a_session_picks_a_new_time_and_keeps_the_terms(world, client_for, session_type):
    booking = booked(world, session_type)
    client = client_for(world.a.patient, world.a.brand)
    page = client.get(f"/sessions/{booking.pk}/move/")
    assert page.status_code == 200
    assert "current time" in text(page)
    new_start = booking.start + timedelta(minutes=30)  # overlaps its own old time: allowed
    confirm = client.get(f"/sessions/{booking.pk}/move/?start={quote(slot_value(new_start))}")
    assert when(new_start, BERLIN) in text(confirm)
    response = client.post(f"/sessions/{booking.pk}/move/", {"start": slot_value(new_start)})
    assert response.status_code == 302
    booking.refresh_from_db()
    moved = Booking.objects.get(rescheduled_from=booking)
    assert booking.status == BookingStatus.RESCHEDULED
    assert (moved.start, moved.status, moved.policy) == (
        new_start,
        BookingStatus.CONFIRMED,
        booking.policy,
    )
    assert response["Location"] == f"/sessions/{moved.pk}/"


def test_moving_is_closed_inside_the_window(world, client_for, session_type):
    booking = booked(world, session_type)
    client = client_for(world.a.patient, world.a.brand)
    new_start = slot_after(session_type, days=6)
    with at(booking.start - timedelta(hours=24)):
        assert "Move to another time" in text(client.get(f"/sessions/{booking.pk}/"))
    events = AuditEvent.objects.count()
    with at(booking.start - timedelta(hours=24) + timedelta(seconds=1)):
        detail = text(client.get(f"/sessions/{booking.pk}/"))
        assert "Move to another time" not in detail
        assert "you can still cancel it" in detail
        assert "Cancel session" in detail
        assert "can no longer be moved" in text(client.get(f"/sessions/{booking.pk}/move/"))
        response = client.post(f"/sessions/{booking.pk}/move/", {"start": slot_value(new_start)})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert Booking.objects.count() == 1
    assert AuditEvent.objects.count() == events


# --- proposals --------------------------------------------------------------------------------


def propose(world, session_type, **kwargs) -> Booking:  # type: ignore[no-untyped-def]
    return do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=slot_after(session_type),
        **kwargs,
    )


def test_a_proposal_shows_its_expiry_and_can_be_accepted(world, client_for, session_type):
    proposal = propose(world, session_type)
    client = client_for(world.a.patient, world.a.brand)
    page = text(client.get("/sessions/"))
    assert "Waiting for your answer" in page
    assert f"Answer by {when(proposal.expires_at, BERLIN)}" in page
    response = client.post(f"/sessions/{proposal.pk}/accept/", {"back": "list"})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CONFIRMED
    assert "It is confirmed" in text(client.get(response["Location"]))


def test_a_proposal_can_be_declined(world, client_for, session_type):
    proposal = propose(world, session_type)
    response = client_for(world.a.patient, world.a.brand).post(
        f"/sessions/{proposal.pk}/decline/", {"back": "list"}
    )
    assert response["Location"] == "/sessions/"
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.DECLINED


def test_a_proposal_that_needs_payment_says_so(world, client_for, session_type):
    proposal = propose(world, session_type, requires_payment=True)
    client = client_for(world.a.patient, world.a.brand)
    assert "Payment is needed to confirm this session" in text(client.get("/sessions/"))
    response = client.post(f"/sessions/{proposal.pk}/accept/")
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.PENDING_PAYMENT
    assert response["Location"] == f"/sessions/{proposal.pk}/pay/"
    assert "Pay now to confirm it" in text(client.get(response["Location"], follow=True))


def test_an_expired_proposal_cannot_be_accepted(world, client_for, session_type):
    proposal = propose(world, session_type, expires_at=timezone.now() + timedelta(hours=1))
    client = client_for(world.a.patient, world.a.brand)
    with at(timezone.now() + timedelta(hours=2)):
        assert "Waiting for your answer" not in text(client.get("/sessions/"))
        response = client.post(f"/sessions/{proposal.pk}/accept/", follow=True)
    assert "This proposal has expired." in text(response)
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.EXPIRED


# --- availability requests --------------------------------------------------------------------


def request_data(session_type, *periods) -> dict:  # type: ignore[no-untyped-def]
    data = {"session_type": session_type.pk}
    for i, (day, start, end) in enumerate(periods, start=1):
        data.update({f"day_{i}": day, f"from_{i}": start, f"until_{i}": end})
    return data


def test_a_request_converts_the_periods_from_the_viewers_zone(
    world, client_for, profile, session_type
):
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    day = timezone.now().date() + timedelta(days=10)
    client = client_for(world.a.patient, world.a.brand)
    page = text(client.get(f"/specialists/{profile.pk}/request/"))
    assert "Times in America/New York (EST)" in page
    response = client.post(
        f"/specialists/{profile.pk}/request/",
        request_data(
            session_type, (day.isoformat(), "08:00", "12:00"), (day.isoformat(), "18:00", "00:00")
        ),
    )
    assert response.status_code == 302
    req = AvailabilityRequest.objects.get()
    first = datetime.combine(day, time(8), NEW_YORK).astimezone(UTC)
    midnight = datetime.combine(day + timedelta(days=1), time(0), NEW_YORK).astimezone(UTC)
    assert req.preferred[0] == [first.isoformat(), (first + timedelta(hours=4)).isoformat()]
    assert req.preferred[1][1] == midnight.isoformat()
    assert req.patient_time_zone == "America/New_York"
    listing = text(client.get("/sessions/"))
    assert f"Answer expected by {when(req.respond_by, NEW_YORK)}" in listing
    assert "Withdraw request" in listing


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ([], "Give at least one period that suits you."),
        ([("2027-03-28", "02:30", "06:00")], "does not exist in Europe/Berlin"),
        ([("2027-10-31", "02:30", "06:00")], "happens twice in Europe/Berlin"),
        ([("+10", "12:00", "11:00")], "The period must end after it starts."),
        ([("+10", "12:00", "")], "Give the date, a start and an end time."),
        ([("+10", "12:00", "12:30")], "at least as long as the session (50 minutes)"),
        ([("-2", "12:00", "14:00")], "The periods must be in the future."),
        ([("+10", "25:00", "26:00")], "Enter a valid time."),
    ],
)
def test_bad_request_input_is_refused_and_nothing_is_written(
    world, client_for, profile, session_type, periods, message
):
    today = timezone.now().date()
    resolved = [
        ((today + timedelta(days=int(d))).isoformat() if d[0] in "+-" else d, a, b)
        for d, a, b in periods
    ]
    events = AuditEvent.objects.count()
    response = client_for(world.a.patient, world.a.brand).post(
        f"/specialists/{profile.pk}/request/", request_data(session_type, *resolved)
    )
    assert response.status_code == 400
    assert message in text(response)
    assert AvailabilityRequest.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_a_request_can_be_withdrawn(world, client_for, session_type):
    start = timezone.now() + timedelta(days=5)
    req = do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        preferred=[(start, start + timedelta(hours=3))],
    )
    client = client_for(world.a.patient, world.a.brand)
    response = client.post(f"/requests/{req.pk}/withdraw/")
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "withdrawn"
    assert "Withdrawn by the patient" in text(client.get("/sessions/"))


# --- scoping ----------------------------------------------------------------------------------


@pytest.fixture
def intruders(world):  # type: ignore[no-untyped-def]
    """Who must not see world A's patient's booking: (user, brand, expected status)."""
    neighbour = factories.make_user("neighbour@example.test")
    factories.grant(neighbour, "patient", network=world.a.network, brand=world.a.brand)
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    return {
        "another patient here": (neighbour, world.a.brand, 404),
        "the same patient on the sister brand": (world.a.patient, world.a.sister, 404),
        "another network's patient at home": (world.b.patient, world.b.brand, 404),
        "another network's patient here": (world.b.patient, world.a.brand, 403),
        "the specialist in the patient portal": (world.a.specialist, world.a.brand, 403),
        "an outsider": (world.outsider, world.a.brand, 403),
    }


@pytest.mark.parametrize(
    "who",
    [
        "another patient here",
        "the same patient on the sister brand",
        "another network's patient at home",
        "another network's patient here",
        "the specialist in the patient portal",
        "an outsider",
    ],
)
def test_others_cannot_see_or_change_a_patients_sessions(
    world, client_for, session_type, intruders, who
):
    booking = booked(world, session_type)
    proposal = propose(world, session_type)
    start = timezone.now() + timedelta(days=5)
    req = do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        preferred=[(start, start + timedelta(hours=3))],
    )
    user, brand, expected = intruders[who]
    client = client_for(user, brand)
    events = AuditEvent.objects.count()
    for path in ["/", "cancel/", "move/", "calendar.ics"]:
        assert client.get(f"/sessions/{booking.pk}/{path}".replace("//", "/")).status_code in (
            expected,
            404,
        ), path
    posts = [
        (f"/sessions/{booking.pk}/cancel/", {}),
        (f"/sessions/{booking.pk}/move/", {"start": slot_value(slot_after(session_type, 8))}),
        (f"/sessions/{proposal.pk}/accept/", {}),
        (f"/sessions/{proposal.pk}/decline/", {}),
        (f"/requests/{req.pk}/withdraw/", {}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == expected, path
    assert "Dr. Listed" not in text(client.get("/sessions/"))
    booking.refresh_from_db()
    proposal.refresh_from_db()
    req.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert proposal.status == BookingStatus.PROPOSED
    assert req.status == "requested"
    assert Booking.objects.count() == 2
    assert AuditEvent.objects.count() == events


def test_my_sessions_is_in_the_patient_navigation(world, client_for):
    response = client_for(world.a.patient, world.a.brand).get("/sessions/")
    assert response.status_code == 200
    assert re.search(
        r'<a href="/sessions/" aria-current="page">My sessions</a>', response.content.decode()
    )


def test_the_pages_render_in_the_patients_language(world, client_for, profile, session_type):
    world.a.patient.language = "de"
    world.a.patient.save()
    booking = booked(world, session_type)
    client = client_for(world.a.patient, world.a.brand)
    for url in [
        book_url(profile),
        confirm_url(profile, session_type, slot_after(session_type, 5)),
        "/sessions/",
        f"/sessions/{booking.pk}/",
        f"/sessions/{booking.pk}/cancel/",
        f"/sessions/{booking.pk}/move/",
        f"/specialists/{profile.pk}/request/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == "de"
        assert re.search(r"Europe/Berlin \(CES?T\)", text(response)), url


def test_a_covered_program_books_without_a_price_and_only_for_its_patients(
    world, client_for, covered
):
    profile, _listings = approved_and_listed(world.a, world.a.specialist, [covered])
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    session_type = make_type(profile)
    # A private program: visitors sign in first, other people get no access.
    assert client_for(None, covered).get(book_url(profile)).status_code == 302
    assert client_for(world.a.patient, covered).get(book_url(profile)).status_code == 403
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=covered)
    client = client_for(world.a.patient, covered)
    start = slot_after(session_type)
    assert "Covered by your program" in text(client.get(confirm_url(profile, session_type, start)))
    client.post(
        f"/specialists/{profile.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    booking = Booking.objects.get()
    assert booking.price_minor is None
    assert "Covered by your program" in text(client.get(f"/sessions/{booking.pk}/"))


def test_the_care_home_shows_whats_next(world, client_for):
    from caredoor.core.booking import proposals
    from caredoor.core.booking.actions import do_book
    from tests.booking_helpers import listed_with_hours, local, make_type

    profile = listed_with_hours(world.a)[0]
    session_type = make_type(profile, name="Intake")
    client = client_for(world.a.patient, world.a.brand)
    assert "You have no upcoming sessions." in client.get("/").content.decode()
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(14),
    )
    page = client.get("/").content.decode()
    assert f"/sessions/{booking.pk}/" in page and "Intake" in page
    assert "Answer the proposed session" in page
    # Another brand's patient sees none of it.
    other = client_for(world.b.patient, world.b.brand).get("/").content.decode()
    assert "Intake" not in other
