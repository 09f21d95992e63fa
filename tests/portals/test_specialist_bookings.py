"""The specialist's booking pages: the list, one booking and its moves, proposals,
availability requests, recurring series and changes from one occurrence onward; bad input
writes nothing, and nobody but the specialist reaches their bookings."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking import proposals, requests, series
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingSeries,
    BookingStatus,
    RequestStatus,
)
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.booking_helpers import BERLIN, listed_with_hours, local, make_type

URL = "/specialist/bookings/"


@pytest.fixture
def listed(world):  # type: ignore[no-untyped-def]
    """A.specialist approved and listed on a.brand and its sister, open 09-17 Berlin."""
    return listed_with_hours(world.a, [world.a.brand, world.a.sister])[0]


@pytest.fixture
def session_type(listed):  # type: ignore[no-untyped-def]
    return make_type(listed)


@pytest.fixture
def booked(world, session_type) -> Booking:  # type: ignore[no-untyped-def]
    return do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )


@pytest.fixture
def spec(world, client_for):  # type: ignore[no-untyped-def]
    return client_for(world.a.specialist, world.a.brand)


def snapshot() -> tuple:
    """Everything a refused request must leave alone."""
    return (
        list(Booking.objects.order_by("pk").values_list("pk", "status", "start")),
        list(AvailabilityRequest.objects.order_by("pk").values_list("pk", "status")),
        BookingSeries.objects.count(),
        AuditEvent.objects.count(),
    )


def when_fields(moment: datetime) -> dict[str, str]:
    at = moment.astimezone(BERLIN)
    return {"day": at.date().isoformat(), "at": at.strftime("%H:%M")}


def label(moment: datetime) -> str:
    """How the pages write a time (Berlin, the specialist's zone)."""
    at = moment.astimezone(BERLIN)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M}"


def past_booking(booking: Booking, hours: int = 2) -> Booking:
    """Move a booking into the past (the actions refuse to book there)."""
    start = timezone.now() - timedelta(hours=hours)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )
    return Booking.objects.get(pk=booking.pk)


def a_second_patient(world):  # type: ignore[no-untyped-def]
    other = factories.make_user("second.patient@example.test", name="Second Patient")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    return other


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_every_kind_of_booking_in_the_specialists_zone(
    world, spec, listed, session_type, booked
):
    world.a.patient.name = "Paula Patient"
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    sister_patient = factories.make_user("sister.patient@example.test", name="Sam Sister")
    factories.grant(sister_patient, "patient", network=world.a.network, brand=world.a.sister)
    on_sister = do_book(
        patient=sister_patient, brand=world.a.sister, session_type=session_type, start=local(12)
    )
    waiting = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(14),
    )
    declined = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(14, days=8),
    )
    proposals.do_decline_proposal(declined, actor=world.a.patient)
    accepted = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.sister,
        patient=sister_patient,
        session_type=session_type,
        start=local(14, days=9),
    )
    proposals.do_accept_proposal(accepted, actor=sister_patient)
    req = requests.do_request_availability(
        patient=sister_patient,
        brand=world.a.sister,
        session_type=session_type,
        preferred=[(local(9, days=10), local(12, days=10))],
    )
    done = past_booking(
        do_book(
            patient=world.a.patient,
            brand=world.a.brand,
            session_type=session_type,
            start=local(16),
        )
    )

    response = spec.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Europe/Berlin" in body
    # Upcoming, over both sites, in Berlin time.
    assert label(booked.start) in body and label(on_sister.start) in body
    assert "Paula Patient" in body and "Sam Sister" in body
    assert "Brand A" in body and "Sister A" in body
    # Proposals with the patient's answer.
    upcoming = body.split('id="upcoming-h"')[0]
    proposals_part = upcoming.split('id="proposals-h"')[1]
    assert label(waiting.start) in proposals_part
    assert "Awaiting the patient&#x27;s answer" in proposals_part
    assert f"expires {label(waiting.expires_at)}" in proposals_part
    assert "Declined" in proposals_part and label(declined.start) in proposals_part
    assert "Accepted" in proposals_part and label(accepted.start) in proposals_part
    # The request: the patient's period in the specialist's zone, and the deadline.
    requests_part = body.split('id="proposals-h"')[0]
    assert "09:00\u201312:00" in requests_part
    assert f"answer by {label(req.respond_by)}" in requests_part
    assert f"/specialist/bookings/requests/{req.pk}/" in requests_part
    # The past one asks for its outcome.
    past_part = body.split('id="past-h"')[1]
    assert label(done.start) in past_part and "Record the outcome" in past_part
    assert "Bookings" in body and 'aria-current="page"' in body


def test_a_specialist_without_a_profile_sees_where_to_start(world, client_for):
    other = factories.make_user("fresh.specialist@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    response = client_for(other, world.a.brand).get(URL)
    assert response.status_code == 200
    assert "No profile yet" in response.content.decode()


def test_empty_lists_and_forms_say_so_until_there_is_a_patient(world, spec, session_type):
    """Listed but nobody booked yet: both tables say they are empty, and proposing or
    scheduling a series explains that a patient has to book or ask first."""
    body = spec.get(URL).content.decode()
    assert "No upcoming sessions." in body and "Nothing here yet." in body
    none_yet = {
        "propose/": "You can propose sessions to patients who have booked or asked",
        "series/new/": "You can schedule sessions for patients who have booked or asked",
    }
    for path, notice in none_yet.items():
        assert notice in spec.get(f"{URL}{path}").content.decode(), path
    do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    body = spec.get(URL).content.decode()
    assert "No upcoming sessions." not in body and "Nothing here yet." in body
    for path, notice in none_yet.items():
        page = spec.get(f"{URL}{path}").content.decode()
        assert notice not in page and world.a.patient.display_name in page, path


# --- one booking ----------------------------------------------------------------------------


def _buttons(body: str) -> set[str]:
    names = {
        "withdraw": "Withdraw the proposal</button>",
        "cancel": "Cancel the session</button>",
        "reschedule": "Move to this time</button>",
        "complete": "Mark as completed</button>",
        "no_show": "The patient did not come</button>",
        "series": "Preview the change</button>",
    }
    return {name for name, marker in names.items() if marker in body}


def test_the_detail_offers_only_the_moves_the_lifecycle_allows(world, spec, session_type, booked):
    detail = f"{URL}{booked.pk}/"
    body = spec.get(detail).content.decode()
    assert _buttons(body) == {"cancel", "reschedule"}
    assert label(booked.start) in body and "Session with" in body
    assert "Next free times" not in body
    assert "Or pick one of your next free times" in body

    proposal = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(13),
    )
    body = spec.get(f"{URL}{proposal.pk}/").content.decode()
    assert _buttons(body) == {"withdraw"}
    assert "The proposal expires" in body

    started = past_booking(booked)
    body = spec.get(detail).content.decode()
    assert _buttons(body) == {"cancel", "reschedule", "complete", "no_show"}

    Booking.objects.filter(pk=started.pk).update(status=BookingStatus.COMPLETED)
    body = spec.get(detail).content.decode()
    assert _buttons(body) == set()
    assert "nothing can be changed any more" in body


def test_cancelling_with_a_reason(world, spec, booked):
    response = spec.post(f"{URL}{booked.pk}/cancel/", {"reason": "I am ill that day."})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == BookingStatus.CANCELLED_BY_SPECIALIST
    assert booked.cancel_reason == "I am ill that day."
    # Once only: the second attempt is refused and changes nothing.
    before = snapshot()
    response = spec.post(f"{URL}{booked.pk}/cancel/", {"reason": "again"})
    assert response.status_code == 400
    assert "can no longer be cancelled" in response.content.decode()
    assert snapshot() == before


def test_rescheduling_to_any_free_time_in_the_specialists_zone(world, spec, booked):
    # 19:30 Berlin is outside the hours: the specialist may still move it there.
    target = local(19, 30, days=9)
    response = spec.post(f"{URL}{booked.pk}/reschedule/", when_fields(target))
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == BookingStatus.RESCHEDULED
    moved = Booking.objects.get(rescheduled_from=booked)
    assert moved.start == target.astimezone(UTC)
    assert response["Location"] == f"{URL}{moved.pk}/"
    body = spec.get(f"{URL}{moved.pk}/").content.decode()
    assert "Moved from" in body and label(booked.start) in body

    # A free time picked from the list (an ISO instant).
    pick = local(11, days=12)
    response = spec.post(f"{URL}{moved.pk}/reschedule/", {"slot": pick.isoformat()})
    assert response.status_code == 302
    assert Booking.objects.get(rescheduled_from=moved).start == pick.astimezone(UTC)


def test_rescheduling_refusals_write_nothing(world, spec, session_type, booked):
    other = do_book(
        patient=a_second_patient(world),
        brand=world.a.brand,
        session_type=session_type,
        start=local(12),
    )
    url = f"{URL}{booked.pk}/reschedule/"
    before = snapshot()

    response = spec.post(url, {"day": local(10).date().isoformat()})
    assert response.status_code == 400
    assert "Give a date and a time" in response.content.decode()

    response = spec.post(url, {"day": "not a date", "at": "10:00"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()

    response = spec.post(url, {"slot": "tomorrow-ish"})
    assert response.status_code == 400
    assert "Choose one of the free times shown" in response.content.decode()

    response = spec.post(url, when_fields(local(10, days=-2)))
    assert response.status_code == 400
    assert "Choose a time in the future" in response.content.decode()

    # A time the clocks skip (the last Sunday of March, 02:30 in Berlin).
    year = timezone.now().year + 1
    gap_day = max(
        datetime(year, 3, d).date() for d in range(25, 32) if datetime(year, 3, d).weekday() == 6
    )
    response = spec.post(url, {"day": gap_day.isoformat(), "at": "02:30"})
    assert response.status_code == 400
    assert "does not exist on that day in Europe/Berlin" in response.content.decode()

    # Taken by another booking: the next free times are offered instead.
    response = spec.post(url, when_fields(other.start))
    assert response.status_code == 400
    body = response.content.decode()
    assert "This time was just taken" in body
    assert 'name="slot"' in body and "Free times near the one you chose" in body
    assert snapshot() == before


def test_outcome_after_the_start_only(world, spec, booked):
    before = snapshot()
    response = spec.post(f"{URL}{booked.pk}/completed/")
    assert response.status_code == 302
    assert "once the session has started" in spec.get(f"{URL}{booked.pk}/").content.decode()
    assert snapshot() == before

    past_booking(booked)
    spec.post(f"{URL}{booked.pk}/completed/")
    assert Booking.objects.get(pk=booked.pk).status == BookingStatus.COMPLETED


def test_no_show(world, spec, booked):
    past_booking(booked)
    assert spec.post(f"{URL}{booked.pk}/no-show/").status_code == 302
    booked.refresh_from_db()
    assert booked.status == BookingStatus.NO_SHOW and booked.fee_percent == 100


def test_withdrawing_a_proposal(world, spec, session_type, booked):
    proposal = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(13),
    )
    assert spec.post(f"{URL}{proposal.pk}/withdraw/").status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CANCELLED_BY_SPECIALIST
    # A confirmed booking is not a proposal: refused, unchanged.
    before = snapshot()
    spec.post(f"{URL}{booked.pk}/withdraw/")
    assert snapshot() == before
    body = spec.get(URL).content.decode()
    assert "Withdrawn by you" in body


# --- proposing ------------------------------------------------------------------------------


def _propose_data(world, session_type, start, **extra):  # type: ignore[no-untyped-def]
    return {
        "patient": f"{world.a.brand.pk}:{world.a.patient.pk}",
        "session_type": str(session_type.pk),
        **when_fields(start),
        **extra,
    }


def test_proposing_a_session(world, spec, listed, session_type, booked):
    invited = make_type(listed, name="Follow-up by invitation", direct_booking=False)
    page = spec.get(f"{URL}propose/").content.decode()
    assert "Follow-up by invitation (50 minutes) · by invitation only" in page
    assert "<optgroup" in page and "Brand A" in page
    assert "answer within 48 hours" in page

    start = local(20, days=5)  # outside the hours: fine for the specialist
    response = spec.post(f"{URL}propose/", _propose_data(world, invited, start))
    assert response.status_code == 302
    proposal = Booking.objects.get(status=BookingStatus.PROPOSED)
    assert proposal.start == start.astimezone(UTC)
    assert proposal.session_type == invited and proposal.requires_payment is False
    # The policy's default expiry: 48 hours from now.
    assert abs(proposal.expires_at - (timezone.now() + timedelta(hours=48))) < timedelta(minutes=5)

    deadline = local(18, days=2)
    response = spec.post(
        f"{URL}propose/",
        _propose_data(
            world,
            session_type,
            local(15, days=6),
            expires_day=deadline.date().isoformat(),
            expires_at="18:00",
            requires_payment="yes",
        ),
    )
    assert response.status_code == 302
    second = Booking.objects.filter(status=BookingStatus.PROPOSED).latest("pk")
    assert second.expires_at == deadline.astimezone(UTC) and second.requires_payment is True


def test_proposal_refusals_write_nothing(world, spec, listed, session_type, booked):
    stranger = factories.make_user("stranger@example.test")
    factories.grant(stranger, "patient", network=world.a.network, brand=world.a.brand)
    other_profile = do_register_specialist(world.b.specialist, world.b.brand)
    foreign = make_type(other_profile, name="Foreign")
    sister_only = make_type(listed, name="Sister only", brand=world.a.sister)
    before = snapshot()
    url = f"{URL}propose/"

    # The deadline after the session.
    late = local(18, days=9)
    response = spec.post(
        url,
        _propose_data(
            world,
            session_type,
            local(15, days=6),
            expires_day=late.date().isoformat(),
            expires_at="18:00",
        ),
    )
    assert response.status_code == 400
    assert "no later than the session" in response.content.decode()

    # Someone who is not this specialist's patient (a tampered value).
    response = spec.post(
        url,
        {**_propose_data(world, session_type, local(15)), "patient": f"{world.a.brand.pk}:9999"},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = spec.post(
        url,
        {
            **_propose_data(world, session_type, local(15)),
            "patient": f"{world.a.brand.pk}:{stranger.pk}",
        },
    )
    assert response.status_code == 400

    # Another specialist's session type.
    response = spec.post(url, _propose_data(world, foreign, local(15)))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()

    # A session type kept for the sister site.
    response = spec.post(url, _propose_data(world, sister_only, local(15)))
    assert response.status_code == 400
    assert "offered only on Sister A" in response.content.decode()

    # In the past.
    response = spec.post(url, _propose_data(world, session_type, local(15, days=-1)))
    assert response.status_code == 400
    assert "Choose a time in the future" in response.content.decode()

    # Taken: the alternatives are offered as buttons that resend the form.
    response = spec.post(url, _propose_data(world, session_type, booked.start))
    assert response.status_code == 400
    body = response.content.decode()
    assert "This time was just taken" in body
    assert body.count('name="slot"') >= 1
    assert snapshot() == before

    # One of the alternatives goes through.
    choice = body.split('name="slot" value="')[1].split('"')[0]
    response = spec.post(url, {**_propose_data(world, session_type, booked.start), "slot": choice})
    assert response.status_code == 302
    assert Booking.objects.get(status=BookingStatus.PROPOSED).start == datetime.fromisoformat(
        choice
    )


# --- availability requests ------------------------------------------------------------------


@pytest.fixture
def asked(world, session_type) -> AvailabilityRequest:  # type: ignore[no-untyped-def]
    return requests.do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        preferred=[(local(9, days=4), local(12, days=4)), (local(14, days=5), local(16, days=5))],
    )


def test_a_request_page_suggests_free_times_inside_the_patients_periods(world, spec, asked):
    body = spec.get(f"/specialist/bookings/requests/{asked.pk}/").content.decode()
    assert "09:00\u201312:00" in body and "14:00\u201316:00" in body
    assert f"Answer by {label(asked.respond_by)}" in body
    inside = local(9, days=4).astimezone(UTC).isoformat()
    assert f'value="{inside}"' in body
    assert "Decline the request" in body


def test_accepting_a_request_inside_the_periods_books_it(world, spec, asked):
    start = local(10, 15, days=4)
    response = spec.post(f"/specialist/bookings/requests/{asked.pk}/", when_fields(start))
    assert response.status_code == 302
    booking = Booking.objects.get(availability_request=asked)
    assert booking.status == BookingStatus.CONFIRMED and booking.start == start.astimezone(UTC)
    asked.refresh_from_db()
    assert asked.status == RequestStatus.ACCEPTED
    # Answered: no more forms, and a second answer is refused.
    body = spec.get(f"/specialist/bookings/requests/{asked.pk}/").content.decode()
    assert "Accept with this time" not in body and "This request is closed" in body
    before = snapshot()
    response = spec.post(
        f"/specialist/bookings/requests/{asked.pk}/", when_fields(local(11, days=4))
    )
    assert response.status_code == 400
    assert "already been answered" in response.content.decode()
    assert snapshot() == before


def test_accepting_a_request_outside_the_periods_sends_a_proposal(world, spec, asked):
    response = spec.post(
        f"/specialist/bookings/requests/{asked.pk}/", {"slot": local(16, days=6).isoformat()}
    )
    assert response.status_code == 302
    booking = Booking.objects.get(availability_request=asked)
    assert booking.status == BookingStatus.PROPOSED


def test_declining_a_request(world, spec, asked):
    response = spec.post(f"/specialist/bookings/requests/{asked.pk}/decline/")
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == RequestStatus.DECLINED
    before = snapshot()
    spec.post(f"/specialist/bookings/requests/{asked.pk}/decline/")
    assert snapshot() == before


def test_request_refusals_write_nothing(world, spec, asked, booked):
    url = f"/specialist/bookings/requests/{asked.pk}/"
    before = snapshot()
    assert spec.post(url, {}).status_code == 400
    assert spec.post(url, {"day": "2020-13-40", "at": "10:00"}).status_code == 400
    response = spec.post(url, when_fields(booked.start))
    assert response.status_code == 400
    assert "This time was just taken" in response.content.decode()
    assert snapshot() == before
    # An expired request cannot be answered.
    AvailabilityRequest.objects.filter(pk=asked.pk).update(
        respond_by=timezone.now() - timedelta(minutes=1)
    )
    response = spec.post(url, when_fields(local(10, days=4)))
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert "Accept with this time" not in spec.get(url).content.decode()


# --- recurring series -----------------------------------------------------------------------


def next_weekday(weekday: int, at: time, after_days: int = 3) -> datetime:
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=after_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, at, BERLIN)


def _series_data(world, session_type, first, step, **extra):  # type: ignore[no-untyped-def]
    return {
        "patient": f"{world.a.brand.pk}:{world.a.patient.pk}",
        "session_type": str(session_type.pk),
        **when_fields(first),
        "interval": "1",
        "count": "4",
        "step": step,
        **extra,
    }


def test_a_series_preview_shows_each_conflict_and_creation_can_skip_it(
    world, spec, session_type, booked
):
    first = next_weekday(1, time(10))
    clash = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=first + timedelta(weeks=2, minutes=30),
    )
    url = f"{URL}series/new/"
    assert spec.get(url).status_code == 200
    before = snapshot()

    response = spec.post(url, _series_data(world, session_type, first, "preview"))
    assert response.status_code == 200
    body = response.content.decode()
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert len(rows) == 4
    assert all(label(first + timedelta(weeks=i)) in rows[i] for i in range(4))
    assert "Overlaps another booking." in rows[2] and f"{URL}{clash.pk}/" in rows[2]
    assert all("Not free" not in rows[i] for i in (0, 1, 3))
    assert "1 date is not free." in body and "Skip the dates that are not free" in body
    assert snapshot() == before

    # Creating without skipping: refused, the conflict re-rendered per occurrence.
    response = spec.post(url, _series_data(world, session_type, first, "create"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Some dates of the series are not free." in body
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert "Overlaps another booking." in rows[2] and len(rows) == 4
    assert snapshot() == before

    response = spec.post(
        url, _series_data(world, session_type, first, "create", skip_conflicts="on")
    )
    assert response.status_code == 302
    created = BookingSeries.objects.get()
    starts = sorted(b.start for b in created.bookings.all())
    assert starts == [(first + timedelta(weeks=i)).astimezone(UTC) for i in (0, 1, 3)]
    assert all(b.status == BookingStatus.CONFIRMED for b in created.bookings.all())
    first_booking = created.bookings.order_by("start").first()
    assert response["Location"] == f"{URL}{first_booking.pk}/"


def test_series_refusals_write_nothing(world, spec, session_type, booked):
    url = f"{URL}series/new/"
    first = next_weekday(2, time(11))
    before = snapshot()
    for bad in ({"count": "1"}, {"count": "53"}, {"interval": "3"}, {"day": ""}):
        response = spec.post(url, _series_data(world, session_type, first, "create", **bad))
        assert response.status_code == 400, bad
    past = _series_data(world, session_type, local(10, days=-14), "create")
    response = spec.post(url, past)
    assert response.status_code == 400
    assert "In the past." in response.content.decode()
    assert snapshot() == before


def _a_series(world, session_type, count: int = 4) -> list[Booking]:  # type: ignore[no-untyped-def]
    created = series.do_create_series(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        first_start=next_weekday(0, time(9)),
        interval_weeks=1,
        count=count,
    )
    return list(created.bookings.order_by("start"))


def test_changing_a_series_from_one_occurrence_onward(world, spec, session_type):
    rows = _a_series(world, session_type)
    second = rows[1]
    body = spec.get(f"{URL}{second.pk}/").content.decode()
    assert "Change the series from this session onward" in body
    assert "Cancel this and the later sessions" in body

    new_first = second.start.astimezone(BERLIN).replace(hour=15)
    blocker = do_book(
        patient=a_second_patient(world),
        brand=world.a.brand,
        session_type=session_type,
        start=new_first + timedelta(weeks=1),
    )
    url = f"{URL}{second.pk}/series/change/"
    before = snapshot()
    response = spec.post(url, {**when_fields(new_first), "step": "preview"})
    assert response.status_code == 200
    body = response.content.decode()
    table = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert len(table) == 3
    assert label(rows[1].start) in table[0] and label(new_first) in table[0]
    assert "Overlaps another booking." in table[1] and f"{URL}{blocker.pk}/" in table[1]
    assert "Free" in table[2] and "Not free" not in table[2]
    assert "1 date is not free." in body

    response = spec.post(url, {**when_fields(new_first), "step": "apply"})
    assert response.status_code == 400
    assert "Some dates of the series are not free." in response.content.decode()
    assert snapshot() == before

    response = spec.post(url, {**when_fields(new_first), "step": "apply", "skip_conflicts": "on"})
    assert response.status_code == 302
    statuses = dict(Booking.objects.filter(pk__in=[b.pk for b in rows]).values_list("pk", "status"))
    assert statuses == {
        rows[0].pk: BookingStatus.CONFIRMED,
        rows[1].pk: BookingStatus.RESCHEDULED,
        rows[2].pk: BookingStatus.CONFIRMED,  # its new date was taken: left as it was
        rows[3].pk: BookingStatus.RESCHEDULED,
    }
    moved = Booking.objects.get(rescheduled_from=rows[3])
    assert moved.start == (new_first + timedelta(weeks=2)).astimezone(UTC)
    assert moved.series_id == rows[0].series_id


def test_cancelling_a_series_from_one_occurrence_onward(world, spec, session_type):
    rows = _a_series(world, session_type)
    response = spec.post(f"{URL}{rows[2].pk}/series/cancel/", {"series-reason": "Moving away"})
    assert response.status_code == 302
    statuses = [Booking.objects.get(pk=b.pk).status for b in rows]
    assert statuses == [
        BookingStatus.CONFIRMED,
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED_BY_SPECIALIST,
        BookingStatus.CANCELLED_BY_SPECIALIST,
    ]
    # A booking outside any series: refused, nothing changes.
    single = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=local(16, days=3),
    )
    before = snapshot()
    response = spec.post(f"{URL}{single.pk}/series/cancel/", {"series-reason": ""})
    assert response.status_code == 400
    assert "not part of a series" in response.content.decode()
    assert snapshot() == before


# --- who may ----------------------------------------------------------------------------------


def _other_specialist_of_network_a(world):  # type: ignore[no-untyped-def]
    other = factories.make_user("other.specialist@example.test", name="Other Specialist")
    factories.grant(other, "specialist", network=world.a.network)
    do_register_specialist(other, world.a.brand)
    return other


def test_nobody_else_reaches_the_specialists_bookings(
    world, client_for, session_type, booked, asked
):
    series_rows = _a_series(world, session_type, count=2)
    proposal = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(15, days=2),
    )
    b_profile = do_register_specialist(world.b.specialist, world.b.brand)
    assert b_profile
    gets = [
        f"{URL}{booked.pk}/",
        f"{URL}{series_rows[0].pk}/series/change/",
        f"/specialist/bookings/requests/{asked.pk}/",
    ]
    posts = [
        (f"{URL}{booked.pk}/cancel/", {"reason": "x"}),
        (f"{URL}{booked.pk}/reschedule/", when_fields(local(16, days=11))),
        (f"{URL}{booked.pk}/completed/", {}),
        (f"{URL}{booked.pk}/no-show/", {}),
        (f"{URL}{proposal.pk}/withdraw/", {}),
        (f"{URL}{series_rows[0].pk}/series/change/", {**when_fields(local(16)), "step": "apply"}),
        (f"{URL}{series_rows[0].pk}/series/cancel/", {}),
        (f"/specialist/bookings/requests/{asked.pk}/", when_fields(local(10, days=4))),
        (f"/specialist/bookings/requests/{asked.pk}/decline/", {}),
    ]
    # Signed in elsewhere in the portal: another specialist of the network, and another
    # network's specialist on their own brand -> 404. Not a specialist here -> 403.
    cases = [
        (client_for(_other_specialist_of_network_a(world), world.a.brand), 404),
        (client_for(world.b.specialist, world.b.brand), 404),
        (client_for(world.b.specialist, world.a.brand), 403),
        (client_for(world.a.patient, world.a.brand), 403),
        (client_for(world.a.org_staff, world.a.brand), 403),
        (client_for(world.a.operator, world.a.brand), 403),
    ]
    before = snapshot()
    for client, expected in cases:
        for url in gets:
            assert client.get(url).status_code == expected, url
        for url, data in posts:
            assert client.post(url, data).status_code == expected, url
    assert snapshot() == before
    # The other specialist's own list does not show A's bookings.
    body = cases[0][0].get(URL).content.decode()
    assert label(booked.start) not in body
    # Proposing for another specialist's patient is not possible either: A's patient is not
    # in the other specialist's list.
    assert world.a.patient.display_name not in cases[0][0].get(f"{URL}propose/").content.decode()
