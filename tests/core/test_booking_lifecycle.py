"""The booking lifecycle: allowed transitions only, policy windows at their edges,
proposals with expiry, availability requests, and the expiry job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caredoor.core.booking import lifecycle, policy, proposals, requests
from caredoor.core.booking.actions import (
    do_book,
    do_cancel,
    do_complete,
    do_confirm_payment,
    do_mark_no_show,
    do_reschedule,
)
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.expiry import expire_overdue
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingStatus,
    Origin,
    RequestStatus,
    SelfBooking,
)
from caredoor.core.booking.policy_actions import do_save_brand_policy, do_save_specialist_policy
from caredoor.core.compliance.models import AuditEvent
from tests.booking_helpers import listed_with_hours, local, make_type

S = BookingStatus


@pytest.fixture
def listed(world):  # type: ignore[no-untyped-def]
    return listed_with_hours(world.a)[0]


@pytest.fixture
def session_type(listed):  # type: ignore[no-untyped-def]
    return make_type(listed)


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """Set "now" for the actions: ``clock.at(datetime)``."""

    class Clock:
        def at(self, moment):  # type: ignore[no-untyped-def]
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


def book(world, session_type, start):  # type: ignore[no-untyped-def]
    return do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=start
    )


# --- the state machine itself ---------------------------------------------------------------


def test_every_status_has_an_entry_and_final_states_are_final():
    assert set(lifecycle.TRANSITIONS) == set(BookingStatus.values)
    for final in (S.COMPLETED, S.NO_SHOW, S.EXPIRED, S.DECLINED, S.RESCHEDULED):
        assert lifecycle.TRANSITIONS[final] == frozenset()
    assert not lifecycle.can_move(S.CANCELLED_BY_PATIENT, S.CONFIRMED)
    assert lifecycle.can_move(S.PROPOSED, S.PENDING_PAYMENT)
    assert not lifecycle.can_move(S.PROPOSED, S.COMPLETED)


def test_a_disallowed_transition_changes_nothing(world, session_type):
    booking = book(world, session_type, local(10))
    do_cancel(booking, by="patient", actor=world.a.patient)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        do_cancel(booking, by="patient", actor=world.a.patient)
    assert caught.value.code == "not_active"
    with pytest.raises(ValidationError):
        do_reschedule(booking, actor=world.a.patient, start=local(12))
    booking.refresh_from_db()
    assert booking.status == S.CANCELLED_BY_PATIENT
    assert AuditEvent.objects.count() == events
    assert Booking.objects.count() == 1


def test_only_the_two_sides_may_change_a_booking(world, session_type):
    booking = book(world, session_type, local(10))
    for stranger in (world.b.patient, world.a.org_admin, world.b.specialist):
        with pytest.raises(ValidationError):
            do_cancel(booking, by="patient", actor=stranger)
        with pytest.raises(ValidationError):
            do_reschedule(booking, actor=stranger, start=local(12))
    # Claiming to be the other side does not work either.
    with pytest.raises(ValidationError):
        do_cancel(booking, by="specialist", actor=world.a.patient)
    booking.refresh_from_db()
    assert booking.status == S.CONFIRMED


# --- policies: snapshot and window edges ---------------------------------------------------


def test_the_booking_keeps_the_policy_it_was_made_under(world, listed, session_type):
    do_save_brand_policy(
        world.a.brand, {"cancel_notice_hours": 48}, actor=world.a.org_admin, role="org_admin"
    )
    booking = book(world, session_type, local(10))
    assert booking.policy["cancel_notice_hours"] == 48
    do_save_brand_policy(
        world.a.brand, {"cancel_notice_hours": 2}, actor=world.a.org_admin, role="org_admin"
    )
    booking.refresh_from_db()
    assert booking.policy["cancel_notice_hours"] == 48


def test_a_specialist_override_wins_and_blank_inherits(world, listed):
    do_save_brand_policy(
        world.a.brand,
        {"cancel_notice_hours": 48, "late_cancel_fee_percent": 80},
        actor=world.a.org_admin,
        role="org_admin",
    )
    do_save_specialist_policy(
        listed,
        world.a.brand,
        {"cancel_notice_hours": 12, "late_cancel_fee_percent": ""},
        actor=world.a.specialist,
    )
    effective = policy.effective(world.a.brand, listed)
    assert effective["cancel_notice_hours"] == 12
    assert effective["late_cancel_fee_percent"] == 80
    # Reminders are the brand's alone; another specialist cannot edit this one's policy.
    with pytest.raises(ValidationError):
        do_save_specialist_policy(
            listed, world.a.brand, {"reminder_offsets_minutes": [5]}, actor=world.a.specialist
        )
    with pytest.raises(ValidationError):
        do_save_specialist_policy(
            listed, world.a.brand, {"cancel_notice_hours": 1}, actor=world.b.specialist
        )
    assert policy.effective(world.a.brand, listed)["cancel_notice_hours"] == 12


def test_bad_policy_values_are_refused_with_messages_and_nothing_saved(world):
    for values in (
        {"late_cancel_fee_percent": 101},
        {"reminder_offsets_minutes": [60, 60]},
        {"reminder_offsets_minutes": [1]},
        {"proposal_expiry_hours": 0},
    ):
        with pytest.raises(ValidationError) as caught:
            do_save_brand_policy(world.a.brand, values, actor=world.a.org_admin, role="org_admin")
        assert caught.value.message_dict
    assert policy.brand_policy(world.a.brand) == policy.DEFAULTS


def test_free_cancellation_until_the_window_edge_then_late(world, session_type, clock):
    start = local(10)
    first = book(world, session_type, start)
    second = book(world, session_type, local(12))
    edge = first.start - timedelta(hours=24)
    clock.at(edge)
    assert policy.cancellation_terms(first, edge).free
    do_cancel(first, by="patient", actor=world.a.patient)
    assert first.fee_percent is None
    clock.at(second.start - timedelta(hours=24) + timedelta(seconds=1))
    terms = policy.cancellation_terms(second, timezone.now())
    assert not terms.free and terms.fee_percent == 50
    do_cancel(second, by="patient", actor=world.a.patient)
    assert second.fee_percent == 50
    event = AuditEvent.objects.filter(action="booking.cancelled").first()  # newest
    assert event.data["late"] is True and event.data["fee_percent"] == 50


def test_a_specialist_cancellation_is_always_free(world, session_type, clock):
    booking = book(world, session_type, local(10))
    clock.at(booking.start - timedelta(hours=1))
    do_cancel(booking, by="specialist", actor=world.a.specialist, reason="ill")
    assert booking.status == S.CANCELLED_BY_SPECIALIST and booking.fee_percent is None


def test_rescheduling_closes_at_the_window_edge_for_the_patient(world, session_type, clock):
    booking = book(world, session_type, local(10))
    clock.at(booking.start - timedelta(hours=24) + timedelta(seconds=1))
    with pytest.raises(ValidationError) as caught:
        do_reschedule(booking, actor=world.a.patient, start=local(14))
    assert caught.value.code == "reschedule_closed"
    # The specialist still may, to any free time.
    moved = do_reschedule(booking, actor=world.a.specialist, start=local(19, 5))
    booking.refresh_from_db()
    assert booking.status == S.RESCHEDULED
    assert moved.status == S.CONFIRMED and moved.rescheduled_from == booking
    assert moved.policy == booking.policy and moved.price_minor == booking.price_minor


def test_a_patient_reschedules_inside_the_window_to_an_offered_time(world, session_type, clock):
    booking = book(world, session_type, local(10))
    clock.at(booking.start - timedelta(hours=24))
    with pytest.raises(ValidationError) as caught:
        do_reschedule(booking, actor=world.a.patient, start=local(19, 5))  # outside the hours
    assert caught.value.code == "not_available"
    moved = do_reschedule(booking, actor=world.a.patient, start=local(14))
    assert moved.start == local(14) and Booking.objects.active().count() == 1


def test_rescheduling_onto_a_taken_time_keeps_the_original(world, session_type):
    booking = book(world, session_type, local(10))
    other = book(world, session_type, local(14))
    with pytest.raises(SlotTaken):
        do_reschedule(booking, actor=world.a.specialist, start=local(14, 15))
    booking.refresh_from_db()
    assert booking.status == S.CONFIRMED and other.status == S.CONFIRMED
    assert Booking.objects.count() == 2


def test_complete_and_no_show_only_after_the_start(world, session_type, clock):
    booking = book(world, session_type, local(10))
    with pytest.raises(ValidationError):
        do_complete(booking, actor=world.a.specialist)
    clock.at(booking.start)
    with pytest.raises(ValidationError):
        do_mark_no_show(booking, actor=world.a.patient)
    do_mark_no_show(booking, actor=world.a.specialist)
    assert booking.status == S.NO_SHOW and booking.fee_percent == 100


# --- self-booking modes -------------------------------------------------------------------


def test_first_booking_only_mode(world, listed, session_type):
    do_save_specialist_policy(
        listed, world.a.brand, {"self_booking": SelfBooking.FIRST_ONLY}, actor=world.a.specialist
    )
    book(world, session_type, local(10))
    with pytest.raises(ValidationError) as caught:
        book(world, session_type, local(14))
    assert caught.value.code == "invitation_only"
    assert Booking.objects.count() == 1


def test_self_booking_off_by_brand_policy(world, listed, session_type):
    do_save_brand_policy(
        world.a.brand, {"self_booking": SelfBooking.OFF}, actor=world.a.org_admin, role="org_admin"
    )
    with pytest.raises(ValidationError):
        book(world, session_type, local(10))
    assert not Booking.objects.exists()


# --- proposals ---------------------------------------------------------------------------


def propose(world, session_type, start, **kwargs):  # type: ignore[no-untyped-def]
    return proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=start,
        **kwargs,
    )


def test_a_proposal_holds_the_time_until_answered(world, session_type):
    proposal = propose(world, session_type, local(10))
    assert proposal.status == S.PROPOSED and proposal.origin == Origin.PROPOSAL
    assert proposal.expires_at <= proposal.start
    with pytest.raises(SlotTaken):
        book(world, session_type, local(10))
    proposals.do_accept_proposal(proposal, actor=world.a.patient)
    assert proposal.status == S.CONFIRMED and proposal.responded_at is not None


def test_a_proposal_may_be_invitation_only_and_outside_hours(world, listed):
    private = make_type(listed, direct_booking=False)
    proposal = propose(world, private, local(20))
    assert proposal.status == S.PROPOSED


def test_a_proposal_requiring_payment_waits_for_it(world, session_type, clock):
    proposal = propose(world, session_type, local(10), requires_payment=True)
    proposals.do_accept_proposal(proposal, actor=world.a.patient)
    assert proposal.status == S.PENDING_PAYMENT and proposal.expires_at is not None
    do_confirm_payment(proposal)
    proposal.refresh_from_db()
    assert proposal.status == S.CONFIRMED and proposal.expires_at is None


def test_an_expired_proposal_cannot_be_accepted(world, session_type, clock):
    now = timezone.now()
    proposal = propose(world, session_type, local(10), expires_at=now + timedelta(hours=1))
    clock.at(now + timedelta(hours=1))
    with pytest.raises(ValidationError) as caught:
        proposals.do_accept_proposal(proposal, actor=world.a.patient)
    assert caught.value.code == "expired"
    proposal.refresh_from_db()
    assert proposal.status == S.EXPIRED  # expired on the spot, the time is free again
    book(world, session_type, local(10))


def test_declined_and_withdrawn_proposals(world, session_type):
    first = propose(world, session_type, local(10))
    proposals.do_decline_proposal(first, actor=world.a.patient)
    assert first.status == S.DECLINED
    second = propose(world, session_type, local(12))
    with pytest.raises(ValidationError):
        proposals.do_withdraw_proposal(second, actor=world.a.patient)
    proposals.do_withdraw_proposal(second, actor=world.a.specialist)
    assert second.status == S.CANCELLED_BY_SPECIALIST
    with pytest.raises(ValidationError):
        proposals.do_accept_proposal(second, actor=world.a.patient)


def test_bad_proposals_write_nothing(world, session_type):
    now = timezone.now()
    cases = [
        {"start": now - timedelta(hours=1)},
        {"start": local(10), "expires_at": local(11)},  # deadline after the session
        {"start": local(10), "expires_at": now - timedelta(minutes=1)},
    ]
    for case in cases:
        with pytest.raises(ValidationError):
            propose(world, session_type, **case)
    with pytest.raises(ValidationError):
        proposals.do_propose(
            actor=world.b.specialist,
            brand=world.a.brand,
            patient=world.a.patient,
            session_type=session_type,
            start=local(10),
        )
    with pytest.raises(ValidationError):  # not a patient of this brand
        proposals.do_propose(
            actor=world.a.specialist,
            brand=world.a.brand,
            patient=world.b.patient,
            session_type=session_type,
            start=local(10),
        )
    assert not Booking.objects.exists()


# --- availability requests ---------------------------------------------------------------


def ask(world, session_type, *windows):  # type: ignore[no-untyped-def]
    return requests.do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        preferred=list(windows),
    )


def test_a_request_accepted_inside_the_patients_period_is_booked(world, session_type):
    req = ask(world, session_type, (local(9), local(12)))
    assert req.status == RequestStatus.REQUESTED
    # The brand's response window (48 h by default), counted from the request.
    assert abs((req.respond_by - req.created_at) - timedelta(hours=48)) < timedelta(seconds=5)
    booking = requests.do_accept_request(req, actor=world.a.specialist, start=local(10))
    req.refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED
    assert booking.status == S.CONFIRMED and booking.availability_request == req
    assert booking.origin == Origin.REQUEST


def test_a_request_accepted_outside_the_period_becomes_a_proposal(world, session_type):
    req = ask(world, session_type, (local(9), local(12)))
    booking = requests.do_accept_request(req, actor=world.a.specialist, start=local(15))
    assert booking.status == S.PROPOSED and booking.availability_request == req


def test_requests_expire_after_the_response_window(world, session_type, clock):
    req = ask(world, session_type, (local(9), local(12)))
    clock.at(req.respond_by)
    with pytest.raises(ValidationError) as caught:
        requests.do_accept_request(req, actor=world.a.specialist, start=local(10))
    assert caught.value.code == "expired"
    assert expire_overdue() == 1
    assert expire_overdue() == 0  # idempotent
    req.refresh_from_db()
    assert req.status == RequestStatus.EXPIRED
    assert not Booking.objects.exists()


def test_request_input_is_checked_and_nothing_written(world, session_type):
    now = timezone.now()
    bad = [
        (),
        ((local(9), local(9, 30)),),  # shorter than the session
        ((now - timedelta(hours=2), now + timedelta(hours=2)),),
        tuple((local(9, days=d), local(12, days=d)) for d in range(1, 7)),  # too many
        ((local(9, days=200), local(12, days=200)),),  # beyond the horizon
    ]
    for windows in bad:
        with pytest.raises(ValidationError):
            ask(world, session_type, *windows)
    assert not AvailabilityRequest.objects.exists()
    ask(world, session_type, (local(9), local(12)))
    with pytest.raises(ValidationError) as caught:
        ask(world, session_type, (local(9, days=8), local(12, days=8)))
    assert caught.value.code == "already_open"


def test_only_the_specialist_answers_and_only_the_patient_withdraws(world, session_type):
    req = ask(world, session_type, (local(9), local(12)))
    with pytest.raises(ValidationError):
        requests.do_decline_request(req, actor=world.a.patient)
    with pytest.raises(ValidationError):
        requests.do_accept_request(req, actor=world.b.specialist, start=local(10))
    with pytest.raises(ValidationError):
        requests.do_withdraw_request(req, actor=world.a.specialist)
    requests.do_withdraw_request(req, actor=world.a.patient)
    assert req.status == RequestStatus.WITHDRAWN
    event = AuditEvent.objects.get(action="availability_request.withdrawn")
    assert event.actor == world.a.patient and event.target_id == str(req.pk)
    with pytest.raises(ValidationError):
        requests.do_decline_request(req, actor=world.a.specialist)


def test_the_expiry_job_lapses_proposals_and_unpaid_bookings(world, session_type, clock):
    now = timezone.now()
    proposal = propose(world, session_type, local(10), expires_at=now + timedelta(hours=1))
    unpaid = propose(world, session_type, local(14), requires_payment=True)
    proposals.do_accept_proposal(unpaid, actor=world.a.patient)
    kept = propose(world, session_type, local(16))
    clock.at(unpaid.expires_at)
    assert expire_overdue() == 2
    for row, status in ((proposal, S.EXPIRED), (unpaid, S.EXPIRED), (kept, S.PROPOSED)):
        row.refresh_from_db()
        assert row.status == status
    assert AuditEvent.objects.filter(action="booking.expired").count() == 2
    with pytest.raises(ValidationError):
        do_confirm_payment(unpaid)


def test_a_session_types_own_price_applies_where_the_specialist_sets_prices(world, listed):
    from caredoor.core.specialists.actions import specialist_sets_price

    assert specialist_sets_price(listed, world.a.brand)
    priced = make_type(listed, price_minor=4500)
    assert book(world, priced, local(10)).price_minor == 4500
    plain = make_type(listed, name="Plain")
    assert book(world, plain, local(14)).price_minor == 9000  # the listing's price
    # Where the brand fixes the price, the session type's own price is ignored.
    world.a.brand.pricing_mode = "brand_fixed"
    world.a.brand.fixed_price_minor = 7000
    world.a.brand.save()
    assert book(world, priced, local(16)).price_minor == 7000


def test_a_date_override_without_hours_is_a_valid_day_off(listed):
    from caredoor.core.scheduling.models import DateOverride

    DateOverride(profile=listed, day=local(10).date(), windows=[]).full_clean()


def test_a_specialist_can_go_back_to_the_brands_direct_booking_rule(world, listed):
    do_save_specialist_policy(
        listed, world.a.brand, {"self_booking": SelfBooking.OFF}, actor=world.a.specialist
    )
    assert policy.effective(world.a.brand, listed)["self_booking"] == SelfBooking.OFF
    do_save_specialist_policy(listed, world.a.brand, {"self_booking": ""}, actor=world.a.specialist)
    assert policy.effective(world.a.brand, listed)["self_booking"] == SelfBooking.OPEN
    # A first override that leaves the mode out stores nothing for it.
    do_save_specialist_policy(
        listed,
        world.a.brand,
        {"cancel_notice_hours": 6},
        actor=world.a.specialist,
    )
    assert policy.effective(world.a.brand, listed)["cancel_notice_hours"] == 6


def test_declining_a_lapsed_proposal_expires_it(world, session_type, clock):
    now = timezone.now()
    proposal = propose(world, session_type, local(10), expires_at=now + timedelta(hours=1))
    clock.at(now + timedelta(hours=2))
    with pytest.raises(ValidationError) as caught:
        proposals.do_decline_proposal(proposal, actor=world.a.patient)
    assert caught.value.code == "expired"
    proposal.refresh_from_db()
    assert proposal.status == S.EXPIRED


def test_request_periods_respect_notice_and_may_not_overlap(world, session_type):
    soon = timezone.now() + timedelta(minutes=30)  # the type needs 60 minutes' notice
    with pytest.raises(ValidationError) as caught:
        ask(world, session_type, (soon, soon + timedelta(minutes=55)))
    assert caught.value.code == "too_soon"
    with pytest.raises(ValidationError) as caught:
        ask(world, session_type, (local(9), local(12)), (local(11), local(13)))
    assert caught.value.code == "overlap"
    assert not AvailabilityRequest.objects.exists()
