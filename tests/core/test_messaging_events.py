"""System events in a care thread: each booking, payment, consent and reminder event adds
exactly one line to the pair's thread through the real actions (none when the action
rolls back), and every line reads for its reader's portal, language and time zone, with a
link that opens the right page -- or a generic line when its data cannot be read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import resolve, reverse
from django.utils import timezone, translation

from caredoor.core.booking import proposals, requests, series
from caredoor.core.booking.actions import do_book, do_cancel, do_confirm_payment, do_reschedule
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.expiry import expire_overdue
from caredoor.core.booking.models import BookingStatus
from caredoor.core.booking.reminders import (
    STARTING_SOON,
    announce_starting_soon,
    send_due_reminders,
)
from caredoor.core.care.actions import do_end
from caredoor.core.care.models import EndReason
from caredoor.core.consents import actions as consents
from caredoor.core.consents import queries as consent_queries
from caredoor.core.messaging import events
from caredoor.core.messaging.actions import care_thread
from caredoor.core.messaging.models import Message, MessageKind, Side
from caredoor.core.messaging.wire import for_reader, message_payload
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.messaging_helpers import allocated_pair

pytestmark = pytest.mark.django_db

REASON = "panic attacks since my divorce"  # stands for health data in a free-text field
BOOKING_KEYS = {"booking", "start", "end", "session_type", "status", "by"}


@pytest.fixture
def listed(world):  # type: ignore[no-untyped-def]
    return listed_with_hours(world.a)[0]


@pytest.fixture
def session_type(listed):  # type: ignore[no-untyped-def]
    return make_type(listed)


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    class Clock:
        def at(self, moment):  # type: ignore[no-untyped-def]
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


def lines(world, profile) -> list[Message]:  # type: ignore[no-untyped-def]
    """The system lines of the pair's thread on brand A, oldest first."""
    thread = care_thread(world.a.brand, world.a.patient, profile)
    return list(thread.messages.filter(kind=MessageKind.EVENT).order_by("pk"))


def kinds(world, profile) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.event for m in lines(world, profile)]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def book(world, session_type, start):  # type: ignore[no-untyped-def]
    return do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=start
    )


def propose(world, session_type, start, **kwargs):  # type: ignore[no-untyped-def]
    return proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=start,
        **kwargs,
    )


# --- one line per event, through the real actions --------------------------------------


def test_a_direct_booking_adds_one_confirmed_line(world, listed, session_type):
    booking = book(world, session_type, local(10))
    [line] = lines(world, listed)
    assert line.event == events.BOOKING_CONFIRMED
    assert line.side == Side.SYSTEM and line.sender_id is None and not line.body_encrypted
    assert line.event_data == {
        "booking": booking.pk,
        "start": utc(booking.start),
        "end": utc(booking.end),
        "session_type": session_type.pk,
        "status": BookingStatus.CONFIRMED,
        "by": "patient",
    }


def test_a_move_keeps_the_old_and_the_new_time(world, listed, session_type):
    booking = book(world, session_type, local(10))
    moved = do_reschedule(booking, actor=world.a.patient, start=local(12))
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED, events.BOOKING_RESCHEDULED]
    data = lines(world, listed)[-1].event_data
    assert data["booking"] == moved.pk and data["start"] == utc(moved.start)
    assert data["previous"] == booking.pk and data["previous_start"] == utc(booking.start)


def test_a_cancellation_says_by_whom_and_never_why(world, listed, session_type):
    first = book(world, session_type, local(10))
    second = book(world, session_type, local(14))
    do_cancel(first, by="patient", actor=world.a.patient, reason=REASON)
    do_cancel(second, by="specialist", actor=world.a.specialist, reason=REASON)
    cancelled = [m for m in lines(world, listed) if m.event == events.BOOKING_CANCELLED]
    assert [(m.event_data["booking"], m.event_data["by"]) for m in cancelled] == [
        (first.pk, "patient"),
        (second.pk, "specialist"),
    ]
    assert all(set(m.event_data) == BOOKING_KEYS for m in cancelled)
    assert REASON not in json.dumps([m.event_data for m in lines(world, listed)])


def test_a_proposal_sent_then_accepted(world, listed, session_type):
    proposal = propose(world, session_type, local(10))
    [sent] = lines(world, listed)
    assert sent.event == events.PROPOSAL_SENT
    assert sent.event_data["expires"] == utc(proposal.expires_at)
    assert sent.event_data["by"] == "specialist"
    proposals.do_accept_proposal(proposal, actor=world.a.patient)
    assert kinds(world, listed) == [events.PROPOSAL_SENT, events.BOOKING_CONFIRMED]
    assert lines(world, listed)[-1].event_data["by"] == "patient"


def test_a_paid_proposal_asks_for_payment_then_reports_it(world, listed, session_type):
    proposal = propose(world, session_type, local(10), requires_payment=True)
    proposals.do_accept_proposal(proposal, actor=world.a.patient)
    proposal.refresh_from_db()
    due = lines(world, listed)[-1]
    assert due.event == events.PAYMENT_DUE
    assert due.event_data["status"] == BookingStatus.PENDING_PAYMENT
    assert due.event_data["expires"] == utc(proposal.expires_at)
    do_confirm_payment(proposal)
    assert kinds(world, listed) == [
        events.PROPOSAL_SENT,
        events.PAYMENT_DUE,
        events.PAYMENT_RECEIVED,
    ]
    assert lines(world, listed)[-1].event_data["by"] == "system"


def test_declined_and_withdrawn_proposals(world, listed, session_type):
    first = propose(world, session_type, local(10))
    proposals.do_decline_proposal(first, actor=world.a.patient)
    second = propose(world, session_type, local(12))
    proposals.do_withdraw_proposal(second, actor=world.a.specialist)
    assert kinds(world, listed) == [
        events.PROPOSAL_SENT,
        events.PROPOSAL_DECLINED,
        events.PROPOSAL_SENT,
        events.PROPOSAL_WITHDRAWN,
    ]


def test_expiry_of_a_proposal_and_of_an_unpaid_booking_once(world, listed, session_type, clock):
    now = timezone.now()
    proposal = propose(world, session_type, local(10), expires_at=now + timedelta(hours=1))
    unpaid = propose(world, session_type, local(14), requires_payment=True)
    proposals.do_accept_proposal(unpaid, actor=world.a.patient)
    unpaid.refresh_from_db()
    clock.at(unpaid.expires_at)
    assert expire_overdue() == 2
    assert expire_overdue() == 0
    expired = {
        m.event_data["booking"]: m.event
        for m in lines(world, listed)
        if m.event in (events.PROPOSAL_EXPIRED, events.PAYMENT_EXPIRED)
    }
    assert expired == {proposal.pk: events.PROPOSAL_EXPIRED, unpaid.pk: events.PAYMENT_EXPIRED}
    assert len(lines(world, listed)) == 5  # sent, sent, payment due, two expiries


def test_an_answer_to_a_request_inside_or_outside_the_wished_times(world, listed, session_type):
    def ask():  # type: ignore[no-untyped-def]
        return requests.do_request_availability(
            patient=world.a.patient,
            brand=world.a.brand,
            session_type=session_type,
            preferred=[(local(9), local(12))],
        )

    booked = requests.do_accept_request(ask(), actor=world.a.specialist, start=local(10))
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED]
    assert lines(world, listed)[-1].event_data["booking"] == booked.pk
    proposed = requests.do_accept_request(ask(), actor=world.a.specialist, start=local(15, days=8))
    assert proposed.status == BookingStatus.PROPOSED
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED, events.PROPOSAL_SENT]


def test_a_series_is_one_line_when_scheduled_and_one_when_cancelled(world, listed, session_type):
    created = series.do_create_series(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        first_start=local(10, days=3),
        interval_weeks=1,
        count=3,
    )
    [scheduled] = lines(world, listed)
    assert scheduled.event == events.BOOKING_CONFIRMED
    assert scheduled.event_data["count"] == 3 and scheduled.event_data["by"] == "specialist"
    first = created.bookings.order_by("start").first()
    series.do_cancel_series_from(first, actor=world.a.specialist, reason=REASON)
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED, events.BOOKING_CANCELLED]
    cancelled = lines(world, listed)[-1].event_data
    assert cancelled["count"] == 3 and cancelled["booking"] == first.pk


def test_a_rolled_back_or_refused_action_leaves_no_line(world, listed, session_type):
    with pytest.raises(RuntimeError), transaction.atomic():
        book(world, session_type, local(10))
        assert len(lines(world, listed)) == 1  # inside the transaction it is there
        raise RuntimeError("the caller's transaction fails")
    assert lines(world, listed) == []
    booking = book(world, session_type, local(10))
    with pytest.raises(SlotTaken):
        book(world, session_type, local(10))
    with pytest.raises(ValidationError):
        do_cancel(booking, by="specialist", actor=world.a.patient)
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED]


def test_starting_soon_once_however_often_the_reminder_job_runs(world, listed, session_type):
    booking = book(world, session_type, local(10))
    send_due_reminders(booking.start - STARTING_SOON - timedelta(minutes=1))
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED]  # not yet
    send_due_reminders(booking.start - timedelta(minutes=14))
    send_due_reminders(booking.start - timedelta(minutes=13))
    assert announce_starting_soon(booking.start - timedelta(minutes=5)) == 0
    assert kinds(world, listed) == [events.BOOKING_CONFIRMED, events.SESSION_STARTING]
    data = lines(world, listed)[-1].event_data
    assert data["booking"] == booking.pk and data["start"] == utc(booking.start)
    # A cancelled session is not announced.
    other = book(world, session_type, local(14))
    do_cancel(other, by="patient", actor=world.a.patient)
    assert announce_starting_soon(other.start - timedelta(minutes=10)) == 0


# --- consents --------------------------------------------------------------------------


@pytest.fixture
def with_consents(world):  # type: ignore[no-untyped-def]
    world.a.brand.modules = [*world.a.brand.modules, "consents"]
    world.a.brand.save(update_fields=["modules"])
    return world


def document(world, *, kind: str, stage: str, title: str):  # type: ignore[no-untyped-def]
    doc = consents.do_create_document(
        kind=kind,
        title=title,
        stage=stage,
        body="The text.",
        actor=world.a.operator,
        brand=world.a.brand,
    )
    return consent_queries.current_version(doc)


def test_a_signed_consent_is_a_line_in_the_active_pairs_thread(with_consents):
    world = with_consents
    profile, rel, thread = allocated_pair(world.a)
    title = "Consent for eating-disorder therapy"  # a title may hint at care
    version = document(world, kind="treatment", stage="booking", title=title)
    consents.do_sign(world.a.patient, version, brand=world.a.brand)
    consents.do_sign(world.a.patient, version, brand=world.a.brand)  # idempotent
    [line] = lines(world, profile)
    assert line.event == events.CONSENT_SIGNED
    assert line.event_data == {
        "document": version.document_id,
        "version": 1,
        "kind": "treatment",
        "relationship": rel.pk,
    }
    assert title not in json.dumps(line.event_data)
    with translation.override("en"):
        assert events.describe(line.event, line.event_data, "patient") == events.EventLine(
            "Treatment agreement signed (version 1)", reverse("patient:consents")
        )
        specialist = events.describe(line.event, line.event_data, "specialist")
    assert specialist.url == reverse("specialist:patient", args=[rel.pk])
    assert thread.messages.count() == 1


def test_on_request_documents_reach_only_the_specialists_who_require_them(with_consents):
    world = with_consents
    profile, _rel, _thread = allocated_pair(world.a)
    version = document(world, kind="recording", stage="", title="Recording")
    consents.do_sign(world.a.patient, version, brand=world.a.brand)
    assert lines(world, profile) == []
    consents.do_set_requirements(
        profile, world.a.brand, [version.document], actor=world.a.specialist
    )
    v2 = consents.do_publish_version(
        version.document, body="New text", summary="Clearer", actor=world.a.operator
    )
    consents.do_sign(world.a.patient, v2, brand=world.a.brand)
    [line] = lines(world, profile)
    assert line.event_data["kind"] == "recording" and line.event_data["version"] == 2


def test_no_line_in_the_thread_of_an_ended_relationship(with_consents):
    world = with_consents
    profile, rel, _thread = allocated_pair(world.a)
    do_end(rel, reason=EndReason.ENDED, actor=world.a.patient)
    version = document(world, kind="telehealth", stage="session", title="Video")
    consents.do_sign(world.a.patient, version, brand=world.a.brand)
    assert lines(world, profile) == []


# --- how lines read ----------------------------------------------------------------------


def this_year(month: int, day: int, hour: int) -> datetime:
    """A moment this year (UTC), so the line shows no year."""
    return datetime(timezone.now().year, month, day, hour, tzinfo=UTC)


def sample(event: str, /, **extra):  # type: ignore[no-untyped-def]
    start = this_year(12, 3, 9)  # 10:00 in Berlin
    data = {
        "booking": 41,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=50)).isoformat(),
        "session_type": 7,
        "status": "confirmed",
        "by": "patient",
        **extra,
    }
    return event, data


def test_every_kind_has_its_own_wording(world):
    assert set(events._RENDERERS) == events.EVENT_KINDS
    generic = events.generic_line().text
    extras = {
        events.BOOKING_RESCHEDULED: {"previous_start": this_year(12, 2, 9).isoformat()},
        events.PROPOSAL_SENT: {"expires": this_year(12, 1, 9).isoformat()},
        events.PAYMENT_DUE: {"expires": this_year(12, 1, 9).isoformat()},
        events.CONSENT_SIGNED: {"version": 2, "kind": "treatment", "relationship": 5},
    }
    with translation.override("en"), timezone.override("Europe/Berlin"):
        for kind in events.EVENT_KINDS:
            for portal in ("patient", "specialist", "organization"):
                line = events.describe(*sample(kind, **extras.get(kind, {})), portal)
                assert line.text and line.text != generic, (kind, portal)


def test_english_lines_in_the_readers_zone(world):
    kind, data = sample(events.BOOKING_CONFIRMED)
    with translation.override("en"), timezone.override("Europe/Berlin"):
        day = datetime.fromisoformat(data["start"]).astimezone(timezone.get_current_timezone())
        weekday = day.strftime("%a")
        assert events.describe(kind, data, "patient").text == (
            f"Session booked for {weekday} 3 Dec, 10:00"
        )
        moved = events.describe(
            events.BOOKING_RESCHEDULED,
            {**data, "previous_start": this_year(12, 2, 9).isoformat()},
            "specialist",
        )
        assert moved.text.startswith("Session moved to ") and "2 Dec, 10:00)" in moved.text
        cancelled = {**data, "by": "specialist"}
        assert events.describe(events.BOOKING_CANCELLED, cancelled, "specialist").text == (
            f"You cancelled the session on {weekday} 3 Dec, 10:00"
        )
        assert events.describe(events.BOOKING_CANCELLED, cancelled, "patient").text == (
            f"Session on {weekday} 3 Dec, 10:00 cancelled by the specialist"
        )
        proposal = {**data, "expires": this_year(12, 1, 17).isoformat()}
        assert events.describe(events.PROPOSAL_SENT, proposal, "patient").text.startswith(
            f"New time proposed: {weekday} 3 Dec, 10:00 — answer by "
        )
        assert events.describe(events.PAYMENT_RECEIVED, data, "patient").text == (
            f"Payment received for the session on {weekday} 3 Dec, 10:00"
        )
    with translation.override("en"), timezone.override("Asia/Tokyo"):
        assert events.describe(kind, data, "patient").text.endswith("3 Dec, 18:00")
    # Another year shows the year.
    later = {**data, "start": datetime(timezone.now().year + 2, 12, 3, 9, tzinfo=UTC).isoformat()}
    with translation.override("en"), timezone.override("UTC"):
        assert f"3 Dec {timezone.now().year + 2}, 09:00" in events.describe(kind, later, "x").text


def test_german_lines_keep_the_structure_and_translate_the_date(world):
    kind, data = sample(events.BOOKING_CONFIRMED)
    with translation.override("en"), timezone.override("Europe/Berlin"):
        english = events.describe(kind, data, "patient")
    with translation.override("de"), timezone.override("Europe/Berlin"):
        german = events.describe(kind, data, "patient")
        starting = events.describe(events.SESSION_STARTING, data, "patient")
    assert german.url == english.url == reverse("patient:booking", args=[41])
    assert "10:00" in german.text and "Dez" in german.text  # Django's German month name
    assert starting.url == reverse("patient:session_join", args=[41])
    assert "10:00" in starting.text


def test_starting_soon_shows_only_the_time_when_it_is_today(world, clock):
    clock.at(datetime(2030, 6, 1, 7, 50, tzinfo=UTC))  # 09:50 in Berlin
    data = {"booking": 41, "start": "2030-06-01T08:00:00+00:00"}
    with translation.override("en"), timezone.override("Europe/Berlin"):
        line = events.describe(events.SESSION_STARTING, data, "patient")
        assert line.text == "Your session starts at 10:00 — join"
    # Just before midnight in Tokyo the session is tomorrow there: the date shows.
    with translation.override("en"), timezone.override("Asia/Tokyo"):
        clock.at(datetime(2030, 6, 1, 14, 55, tzinfo=UTC))  # 23:55 in Tokyo
        tomorrow = {"booking": 41, "start": "2030-06-01T15:05:00+00:00"}
        text = events.describe(events.SESSION_STARTING, tomorrow, "patient").text
        assert text.startswith("Your session starts at ") and "2 Jun, 00:05" in text


def test_links_per_portal_lead_to_the_right_pages(world):
    kind, data = sample(events.BOOKING_CONFIRMED)
    patient = events.describe(kind, data, "patient").url
    specialist = events.describe(kind, data, "specialist").url
    assert resolve(patient).url_name == "booking" and resolve(patient).namespace == "patient"
    assert specialist == reverse("specialist:booking", args=[41])
    assert events.describe(kind, data, "organization").url == ""
    # "Starting soon" leads into the video room (its page explains when it is not open).
    starting = events.describe(events.SESSION_STARTING, data, "specialist").url
    assert starting == reverse("specialist:session_join", args=[41])
    proposal = events.describe(events.PROPOSAL_SENT, data, "patient").url
    assert proposal == patient  # where the patient accepts


def test_the_links_of_real_lines_open_for_their_readers(world, listed, session_type, client_for):
    booking = book(world, session_type, local(10))
    line = lines(world, listed)[0]
    for portal, user in (("patient", world.a.patient), ("specialist", world.a.specialist)):
        url = events.describe(line.event, line.event_data, portal).url
        response = client_for(user, world.a.brand).get(url)
        assert response.status_code == 200, (portal, url)
        assert str(booking.pk) in url
    # The other side's link is not theirs to open.
    url = events.describe(line.event, line.event_data, "patient").url
    assert client_for(world.b.patient, world.a.brand).get(url).status_code in (403, 404)


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("no_such_event", {"booking": 1, "start": "2030-01-01T10:00:00+00:00"}),
        (None, {}),
        (events.BOOKING_CONFIRMED, {}),
        (events.BOOKING_CONFIRMED, None),
        (events.BOOKING_CONFIRMED, ["booking", 1]),
        (events.BOOKING_CONFIRMED, {"booking": "1", "start": "2030-01-01T10:00:00+00:00"}),
        (events.BOOKING_CONFIRMED, {"booking": True, "start": "2030-01-01T10:00:00+00:00"}),
        (events.BOOKING_CONFIRMED, {"booking": -3, "start": "2030-01-01T10:00:00+00:00"}),
        (events.BOOKING_CONFIRMED, {"booking": 1, "start": "yesterday"}),
        (events.BOOKING_CONFIRMED, {"booking": 1, "start": 1700000000}),
        (events.BOOKING_RESCHEDULED, {"booking": 1, "start": "x", "previous_start": "y"}),
        (events.PROPOSAL_SENT, {"booking": 1, "start": "2030-01-01T10:00:00", "expires": 3}),
        (events.CONSENT_SIGNED, {"version": "two"}),
        (events.SESSION_STARTING, {"booking": 10**30, "start": None}),
    ],
)
def test_garbage_renders_a_generic_line_without_a_link(world, event, data):
    for portal in ("patient", "specialist", "organization", "nonsense"):
        line = events.describe(event, data, portal)  # type: ignore[arg-type]
        assert line == events.generic_line()
        assert line.url == ""


def test_a_naive_time_is_read_as_utc(world):
    data = {"booking": 1, "start": f"{timezone.now().year}-12-03T09:00:00"}
    with translation.override("en"), timezone.override("Europe/Berlin"):
        assert events.describe(events.PAYMENT_RECEIVED, data, "patient").text.endswith("10:00")


def test_the_reader_gets_the_line_and_link_on_the_wire(world, listed, session_type):
    booking = book(world, session_type, local(10))
    payload = message_payload(lines(world, listed)[0])
    assert payload["kind"] == "event" and payload["event"] == events.BOOKING_CONFIRMED
    with translation.override("en"):
        mine = for_reader(payload, user_id=world.a.patient.pk, portal="patient")
        theirs = for_reader(payload, user_id=world.a.specialist.pk, portal="specialist")
    assert mine["event_text"].startswith("Session booked for ")
    assert mine["event_url"] == reverse("patient:booking", args=[booking.pk])
    assert theirs["event_url"] == reverse("specialist:booking", args=[booking.pk])
    assert not mine["mine"] and not theirs["mine"]


def test_unknown_kinds_are_refused_when_posting(world):
    profile, _rel, _thread = allocated_pair(world.a)
    with pytest.raises(ValueError):
        events.post_event(
            brand=world.a.brand, patient=world.a.patient, profile=profile, event="x", data={}
        )


@pytest.mark.django_db(transaction=True)
def test_starting_soon_once_when_several_workers_run_at_the_same_time(world):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    profile = listed_with_hours(world.a)[0]
    booking = book(world, make_type(profile), local(10))
    moment = booking.start - timedelta(minutes=10)

    def worker() -> int:
        try:
            return announce_starting_soon(moment)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        posted = list(pool.map(lambda _: worker(), range(4)))
    assert sum(posted) == 1
    assert kinds(world, profile) == [events.BOOKING_CONFIRMED, events.SESSION_STARTING]
