"""Feedback after completed sessions: asking, answering, skipping, and aggregates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from caredoor.core.booking.models import BookingStatus
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.feedback import actions, queries
from caredoor.core.feedback.models import FeedbackResponse
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.booking_helpers import make_type
from tests.calendar_helpers import add_booking

pytestmark = pytest.mark.django_db


def enable_feedback(brand, **settings):  # type: ignore[no-untyped-def]
    brand.modules = [*brand.modules, "feedback"]
    brand.save(update_fields=["modules"])
    if settings:
        actions.do_save_feedback_settings(brand, settings, actor=None)
    return brand


def session_type_of(user, brand):  # type: ignore[no-untyped-def]
    profile = do_register_specialist(user, brand)
    return make_type(profile)


def completed(session_type, patient, brand, days_ago=1, status=BookingStatus.COMPLETED):  # type: ignore[no-untyped-def]
    start = timezone.now() - timedelta(days=days_ago, hours=1)
    return add_booking(session_type, patient, brand, start, status=status)


def new_patient(side, brand=None):  # type: ignore[no-untyped-def]
    user = factories.make_user()
    factories.grant(user, "patient", network=side.network, brand=brand or side.brand)
    return user


def answer(booking, **values):  # type: ignore[no-untyped-def]
    return actions.do_give_feedback(booking, patient=booking.patient, **values)


@pytest.fixture
def setup(world):  # type: ignore[no-untyped-def]
    brand = enable_feedback(world.a.brand)
    return brand, session_type_of(world.a.specialist, brand)


def test_due_feedback_lists_completed_sessions_without_an_answer_newest_first(world, setup):
    brand, st = setup
    patient = world.a.patient
    older = completed(st, patient, brand, days_ago=5)
    newer = completed(st, patient, brand, days_ago=2)
    completed(st, patient, brand, days_ago=40)  # too long ago
    completed(st, patient, brand, days_ago=3, status=BookingStatus.NO_SHOW)
    completed(st, world.a.org_admin, brand, days_ago=1)  # someone else's
    assert queries.due_feedback(patient, brand) == [newer, older]
    answer(newer, satisfaction=4)
    actions.do_skip_feedback(older, patient=patient)
    assert queries.due_feedback(patient, brand) == []


def test_due_feedback_is_empty_when_the_brand_has_the_module_off(world):
    st = session_type_of(world.a.specialist, world.a.brand)
    completed(st, world.a.patient, world.a.brand)
    assert queries.due_feedback(world.a.patient, world.a.brand) == []
    enable_feedback(world.a.brand)
    assert len(queries.due_feedback(world.a.patient, world.a.brand)) == 1
    # A brand that asks nothing asks nothing.
    actions.do_save_feedback_settings(
        world.a.brand,
        dict.fromkeys(["ask_satisfaction", "ask_progress", "ask_nps", "allow_comment"], False),
        actor=None,
    )
    assert queries.due_feedback(world.a.patient, world.a.brand) == []


def test_due_feedback_follows_the_first_and_every_nth_cadence(world):
    brand = enable_feedback(world.a.brand, cadence="first_and_nth", every_nth=3)
    st = session_type_of(world.a.specialist, brand)
    sessions = [completed(st, world.a.patient, brand, days_ago=d) for d in (9, 8, 7, 6, 5, 4)]
    due = queries.due_feedback(world.a.patient, brand)
    # The 1st, 3rd and 6th session of the pair are asked about.
    assert due == [sessions[5], sessions[2], sessions[0]]


def test_due_feedback_is_per_brand(world, setup):
    brand, st = setup
    sister = enable_feedback(world.a.sister)
    completed(st, world.a.patient, sister)
    assert queries.due_feedback(world.a.patient, brand) == []
    assert len(queries.due_feedback(world.a.patient, sister)) == 1


def test_give_feedback_records_answers_encrypts_the_comment_and_audits_ids_only(world, setup):
    brand, st = setup
    booking = completed(st, world.a.patient, brand)
    response = answer(booking, satisfaction=5, progress=4, nps=9, comment="Panic attacks eased")
    row = FeedbackResponse.objects.get(pk=response.pk)
    assert (row.satisfaction, row.progress, row.nps, row.skipped) == (5, 4, 9, False)
    assert (row.brand, row.profile_id, row.patient) == (brand, st.profile_id, world.a.patient)
    assert row.comment_encrypted and "Panic" not in row.comment_encrypted
    event = AuditEvent.objects.get(action="feedback.given")
    assert event.data == {"booking": booking.pk, "profile": st.profile_id}
    assert "Panic" not in str(event.data)


def test_skip_records_a_skip_so_the_session_is_not_asked_again(world, setup):
    brand, st = setup
    booking = completed(st, world.a.patient, brand)
    response = actions.do_skip_feedback(booking, patient=world.a.patient)
    assert response.skipped and response.satisfaction is None
    assert AuditEvent.objects.filter(action="feedback.skipped").count() == 1
    assert queries.due_feedback(world.a.patient, brand) == []


def test_double_submit_is_refused_and_changes_nothing(world, setup):
    brand, st = setup
    booking = completed(st, world.a.patient, brand)
    answer(booking, satisfaction=2)
    events = AuditEvent.objects.count()
    with pytest.raises(actions.AlreadyAnswered):
        answer(booking, satisfaction=5)
    with pytest.raises(actions.AlreadyAnswered):
        actions.do_skip_feedback(booking, patient=world.a.patient)
    assert FeedbackResponse.objects.get().satisfaction == 2
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "status",
    [BookingStatus.CONFIRMED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED_BY_PATIENT],
)
def test_feedback_on_a_session_that_is_not_completed_is_refused(world, setup, status):
    brand, st = setup
    booking = completed(st, world.a.patient, brand, status=status)
    with pytest.raises(ValidationError) as info:
        answer(booking, satisfaction=3)
    assert info.value.code == "not_completed"
    with pytest.raises(Http404):
        queries.access_feedback_booking(world.a.patient, brand, booking.pk)
    assert not FeedbackResponse.objects.exists()


def test_only_the_sessions_patient_may_answer_and_only_on_its_brand(world, setup):
    brand, st = setup
    booking = completed(st, world.a.patient, brand)
    with pytest.raises(ValidationError) as info:
        actions.do_give_feedback(booking, patient=world.a.org_admin, satisfaction=3)
    assert info.value.code == "not_allowed"
    for patient, on in [
        (world.a.org_admin, brand),
        (world.b.patient, brand),
        (world.a.patient, enable_feedback(world.a.sister)),
    ]:
        with pytest.raises(Http404):
            queries.access_feedback_booking(patient, on, booking.pk)
    assert queries.access_feedback_booking(world.a.patient, brand, booking.pk) == booking
    assert not FeedbackResponse.objects.exists()


def test_bad_answers_change_nothing(world):
    brand = enable_feedback(world.a.brand, ask_nps=False, allow_comment=False)
    st = session_type_of(world.a.specialist, brand)
    booking = completed(st, world.a.patient, brand)
    for values in [
        {},  # nothing answered
        {"nps": 9},  # not asked on this brand
        {"satisfaction": 3, "comment": "hello"},  # comments are off
        {"satisfaction": 6},  # out of range
        {"progress": 0},
    ]:
        with pytest.raises(ValidationError):
            answer(booking, **values)
    assert not FeedbackResponse.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="feedback.given").exists()


# --- arithmetic --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([10, 9, 8, 7, 6], 20),  # 2 promoters, 2 passives, 1 detractor of 5: 40 - 20
        ([10, 10, 10, 10], 100),
        ([0, 1, 6, 6], -100),
        ([7, 8, 7], 0),
        ([9, 0, 7], 0),
        ([9, 9, 0], 33),  # 66.67 - 33.33 = 33.33
        ([9, 9, 8, 8, 8, 8, 8, 8], 25),
        ([9, 0, 0, 8, 8, 8, 8, 8], -13),  # -12.5 rounds away from zero
        ([9, 9, 9, 0, 8, 8, 8, 8], 25),
        (
            [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0, 8, 8, 8, 8, 8, 8, 8, 8],
            64,
        ),  # 19/28 - 1/28 = 64.29
        ([], None),
    ],
)
def test_nps_is_percent_promoters_minus_percent_detractors(values, expected):
    assert queries.nps_score(values) == expected


def test_averages_round_half_up_to_one_place():
    assert queries.average([4, 5]) == Decimal("4.5")
    assert queries.average([1, 2, 2]) == Decimal("1.7")
    assert queries.average([4, 4, 5, 5, 5, 5]) == Decimal("4.7")  # 4.666...
    assert queries.average([3, 3, 3, 4, 4, 4, 4, 4]) == Decimal("3.6")  # 3.625
    assert queries.average([]) is None


def test_summary_is_suppressed_below_the_minimum_group_size(world, setup):
    brand, st = setup
    scores = [(5, 4, 10), (4, 4, 9), (3, 2, 6), (5, 5, 10)]
    for s, p, n in scores:
        answer(completed(st, new_patient(world.a), brand), satisfaction=s, progress=p, nps=n)
    actions.do_skip_feedback(completed(st, world.a.patient, brand), patient=world.a.patient)
    completed(st, new_patient(world.a), brand)  # completed, not answered yet
    summary = queries.specialist_summary(st.profile, brand, None)
    assert (summary.answered, summary.skipped, summary.asked) == (4, 1, 6)
    assert summary.suppressed
    assert summary.satisfaction.value is None and summary.nps.value is None
    assert not summary.satisfaction.shown
    assert summary.promoters == summary.detractors == 0
    assert summary.response_rate == 67  # 4 of 6
    # The fifth answer reaches the default group of 5.
    answer(completed(st, new_patient(world.a), brand), satisfaction=3, progress=3, nps=7)
    summary = queries.specialist_summary(st.profile, brand, None)
    assert not summary.suppressed
    assert summary.satisfaction.value == Decimal("4.0")  # 20 / 5
    assert summary.progress.value == Decimal("3.6")  # 18 / 5
    assert summary.nps.value == 40  # 3 promoters, 1 passive, 1 detractor: 60 - 20
    assert (summary.promoters, summary.passives, summary.detractors) == (3, 1, 1)
    assert summary.response_rate == 71  # 5 of 7
    assert queries.brand_summary(brand, None).nps.value == 40


def test_a_question_answered_by_too_few_is_hidden_even_in_a_large_group(world, setup):
    brand, st = setup
    for i in range(6):
        nps = 10 if i < 2 else None
        answer(completed(st, new_patient(world.a), brand), satisfaction=4, nps=nps)
    summary = queries.specialist_summary(st.profile, brand, None)
    assert not summary.suppressed
    assert summary.satisfaction.value == Decimal("4.0")
    assert summary.nps.value is None and summary.nps.answers == 2
    assert summary.progress.value is None


def test_the_brands_minimum_group_size_and_the_period_apply(world):
    brand = enable_feedback(world.a.brand, min_group_size=3)
    st = session_type_of(world.a.specialist, brand)
    for days in (2, 3, 40):
        answer(completed(st, new_patient(world.a), brand, days_ago=days), satisfaction=5)
    assert not queries.specialist_summary(st.profile, brand, None).suppressed
    last_month = queries.period_start(30)
    recent = queries.specialist_summary(st.profile, brand, last_month)
    assert recent.suppressed and recent.answered == 2 and recent.asked == 2
    with pytest.raises(ValidationError):
        actions.do_save_feedback_settings(brand, {"min_group_size": 2}, actor=None)


def test_settings_default_when_missing_and_save_is_audited(world):
    brand = world.a.brand
    config = queries.settings_for(brand)
    assert config.pk is None
    assert (config.ask_satisfaction, config.ask_progress, config.ask_nps) == (True, True, True)
    assert (config.cadence, config.min_group_size) == ("every", 5)
    actions.do_save_feedback_settings(
        brand, {"ask_nps": False, "cadence": "first_and_nth", "every_nth": 4}, actor=None
    )
    saved = queries.settings_for(brand)
    assert saved.pk and not saved.ask_nps and saved.every_nth == 4
    event = AuditEvent.objects.get(action="feedback.settings_saved")
    assert event.data["changed"]["ask_nps"] == [True, False]
    with pytest.raises(ValidationError):
        actions.do_save_feedback_settings(brand, {"every_nth": 1}, actor=None)
    assert queries.settings_for(brand).every_nth == 4


def test_read_comments_decrypts_and_audits(world, setup):
    brand, st = setup
    response = answer(completed(st, world.a.patient, brand), satisfaction=4, comment="Helpful")
    operator = world.a.operator.memberships.get()
    rows = queries.comment_responses(operator, brand, None)
    read = actions.read_comments(rows, reader=world.a.operator, role="operator", brand=brand)
    assert read == [(response, "Helpful")]
    event = AuditEvent.objects.get(action="feedback.comments_read")
    assert event.data == {"responses": [response.pk]}


def test_a_total_that_would_reveal_a_small_group_by_subtraction_is_withheld(world, setup):
    brand, st = setup
    for _ in range(5):
        answer(completed(st, new_patient(world.a), brand), satisfaction=4, nps=10)
    other_user = factories.make_user()
    factories.grant(other_user, "specialist", network=world.a.network)
    other = session_type_of(other_user, brand)
    answer(completed(other, new_patient(world.a), brand), satisfaction=1, nps=0)
    total = queries.brand_summary(brand, None)
    assert total.satisfaction.value == Decimal("3.5")  # 21 / 6
    rows = [s for _p, s in queries.specialist_summaries(brand, None, [st.profile, other.profile])]
    assert rows[0].satisfaction.shown and rows[1].suppressed
    guarded = queries.guard_total(total, rows)
    # 6 - 5 shown = the other specialist's single answer: the total would give it away.
    assert guarded.satisfaction.value is None and guarded.satisfaction.withheld
    assert guarded.nps.value is None and guarded.promoters == 0
    # Shown beside no rows (as employers see it), or with a large rest, it stays.
    assert queries.guard_total(total, []).satisfaction.value == Decimal("3.5")
    assert queries.guard_total(total, rows[1:]).satisfaction.value == Decimal("3.5")
