"""Feedback pages: the patient's short form, the specialist's totals, the organization's view
per role, and the operator's per-brand settings."""

from __future__ import annotations

import pytest

from caredoor.core.booking.models import BookingStatus
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.feedback.models import FeedbackResponse, FeedbackSettings
from tests import factories
from tests.core.test_feedback import (
    answer,
    completed,
    enable_feedback,
    new_patient,
    session_type_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def st(world):  # type: ignore[no-untyped-def]
    enable_feedback(world.a.brand)
    return session_type_of(world.a.specialist, world.a.brand)


def url(booking) -> str:  # type: ignore[no-untyped-def]
    return f"/feedback/{booking.pk}/"


def give_answers(world, st, n, comment="", start=0):  # type: ignore[no-untyped-def]
    """``n`` answers from new patients; the first five average 4.0 satisfaction and 3.6
    progress, with an NPS of 40 (3 promoters, 1 passive, 1 detractor)."""
    scores = [(5, 4, 10), (4, 4, 9), (3, 2, 6), (5, 5, 10), (3, 3, 7), (4, 4, 8)]
    for i in range(start, start + n):
        s, p, nps = scores[i % len(scores)]
        booking = completed(st, new_patient(world.a), world.a.brand)
        answer(booking, satisfaction=s, progress=p, nps=nps, comment=comment)


# --- the patient ------------------------------------------------------------------------


def test_the_form_asks_the_brands_questions_with_legends(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    body = client_for(world.a.patient, world.a.brand).get(url(booking)).content.decode()
    assert "How was your session?" in body
    assert "<legend>How satisfied are you with this session?</legend>" in body
    assert "<legend>Compared with before, how are things?</legend>" in body
    assert "How likely are you to recommend Brand A" in body
    assert 'name="comment"' in body and 'value="skip"' in body
    FeedbackSettings.objects.create(brand=world.a.brand, ask_nps=False, allow_comment=False)
    body = client_for(world.a.patient, world.a.brand).get(url(booking)).content.decode()
    assert "recommend" not in body and 'name="comment"' not in body
    assert "How satisfied" in body


def test_submit_saves_and_returns_to_a_safe_next(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    client = client_for(world.a.patient, world.a.brand)
    response = client.post(
        url(booking) + "?next=/sessions/",
        {"action": "send", "satisfaction": "4", "progress": "5", "nps": "9", "comment": "Good"},
    )
    assert response.status_code == 302 and response["Location"] == "/sessions/"
    row = FeedbackResponse.objects.get(booking=booking)
    assert (row.satisfaction, row.progress, row.nps, row.skipped) == (4, 5, 9, False)
    assert "Good" not in row.comment_encrypted


def test_an_unsafe_next_goes_home(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    response = client_for(world.a.patient, world.a.brand).post(
        url(booking), {"action": "send", "satisfaction": "3", "next": "https://evil.test/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_skip_records_a_skip(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    response = client_for(world.a.patient, world.a.brand).post(
        url(booking), {"action": "skip", "satisfaction": "2", "next": "/sessions/"}
    )
    assert response.status_code == 302 and response["Location"] == "/sessions/"
    row = FeedbackResponse.objects.get(booking=booking)
    assert row.skipped and row.satisfaction is None


def test_double_submit_says_so_and_changes_nothing(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    client = client_for(world.a.patient, world.a.brand)
    client.post(url(booking), {"action": "send", "satisfaction": "2"})
    events = AuditEvent.objects.count()
    response = client.post(url(booking), {"action": "send", "satisfaction": "5"}, follow=True)
    assert "You already gave feedback on this session" in response.content.decode()
    response = client.post(url(booking), {"action": "skip"})
    assert response.status_code == 302
    row = FeedbackResponse.objects.get(booking=booking)
    assert row.satisfaction == 2 and not row.skipped
    assert AuditEvent.objects.count() == events


def test_bad_input_is_refused_and_changes_nothing(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    client = client_for(world.a.patient, world.a.brand)
    for data in [{"action": "send"}, {"action": "send", "satisfaction": "9"}]:
        response = client.post(url(booking), data)
        assert response.status_code == 400
    assert not FeedbackResponse.objects.exists()


def test_empty_submit_names_the_way_out(world, client_for, st):
    booking = completed(st, world.a.patient, world.a.brand)
    response = client_for(world.a.patient, world.a.brand).post(url(booking), {"action": "send"})
    assert response.status_code == 400
    assert "Answer at least one question, or choose Skip." in response.content.decode()


@pytest.mark.parametrize(
    "status", [BookingStatus.CONFIRMED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED_BY_PATIENT]
)
def test_sessions_that_are_not_completed_are_404(world, client_for, st, status):
    booking = completed(st, world.a.patient, world.a.brand, status=status)
    client = client_for(world.a.patient, world.a.brand)
    assert client.get(url(booking)).status_code == 404
    assert client.post(url(booking), {"action": "send", "satisfaction": "5"}).status_code == 404
    assert not FeedbackResponse.objects.exists()


def test_other_peoples_and_other_brands_sessions_are_404_and_posts_change_nothing(
    world, client_for, st
):
    booking = completed(st, world.a.patient, world.a.brand)
    other = new_patient(world.a)
    assert client_for(other, world.a.brand).get(url(booking)).status_code == 404
    post = {"action": "send", "satisfaction": "1"}
    assert client_for(other, world.a.brand).post(url(booking), post).status_code == 404
    # The same patient on the sister brand (a patient there too): another brand's booking.
    enable_feedback(world.a.sister)
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    assert client_for(world.a.patient, world.a.sister).post(url(booking), post).status_code == 404
    # The other network's patient has no role on this brand at all.
    assert client_for(world.b.patient, world.a.brand).post(url(booking), post).status_code == 403
    assert not FeedbackResponse.objects.exists()


def test_a_brand_without_the_module_does_not_ask(world, client_for):
    st = session_type_of(world.a.specialist, world.a.brand)
    booking = completed(st, world.a.patient, world.a.brand)
    assert client_for(world.a.patient, world.a.brand).get(url(booking)).status_code == 404


# --- the specialist ----------------------------------------------------------------------


def test_specialist_sees_totals_only_once_the_group_is_large_enough(world, client_for, st):
    give_answers(world, st, 4, comment="Secret detail")
    client = client_for(world.a.specialist, world.a.brand)
    body = client.get("/specialist/feedback/").content.decode()
    assert "Brand A" in body
    assert "Not enough responses yet to show results (4 of 5)." in body
    assert "average satisfaction" not in body
    give_answers(world, st, 1, start=4)
    body = client.get("/specialist/feedback/").content.decode()
    assert "Not enough responses" not in body
    assert "4.0" in body and "3.6" in body  # 20/5 satisfaction, 18/5 progress
    assert "40" in body and "promoters: 3, passives: 1, detractors: 1" in body
    assert "Secret detail" not in body  # comments stay with the quality team
    # Another specialist sees nothing of it.
    other = factories.make_user("other.specialist@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    session_type_of(other, world.a.brand)
    body = client_for(other, world.a.brand).get("/specialist/feedback/").content.decode()
    assert "No completed sessions yet" in body and "4.0" not in body


def test_specialist_period_filter(world, client_for, st):
    for _ in range(5):
        answer(completed(st, new_patient(world.a), world.a.brand, days_ago=60), satisfaction=5)
    client = client_for(world.a.specialist, world.a.brand)
    assert "Not enough" not in client.get("/specialist/feedback/?period=90").content.decode()
    recent = client.get("/specialist/feedback/?period=30").content.decode()
    assert "Not enough responses yet to show results (0 of 5)." in recent


# --- the organization ---------------------------------------------------------------------


@pytest.fixture
def employer_admin(world):  # type: ignore[no-untyped-def]
    employer = factories.make_org(world.a.network, "employer", [world.a.brand])
    user = factories.make_user("employer.admin@example.test")
    factories.grant(user, "org_admin", network=world.a.network, organization=employer)
    return user


@pytest.fixture
def answered(world, st):  # type: ignore[no-untyped-def]
    st.profile.display_name = "Dr. Rated"
    st.profile.save(update_fields=["display_name"])
    give_answers(world, st, 5, comment="The breathing exercises helped")
    return st


def test_operator_sees_brand_and_specialist_results_and_comments(world, client_for, answered):
    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/feedback/").content.decode()
    assert "Brand A" in body and "Sister A" in body
    assert "Dr. Rated" in body and "4.0" in body
    assert "Read the comments on Brand A" in body
    assert "The breathing exercises helped" not in body  # comments only on their own page
    events = AuditEvent.objects.filter(action="feedback.comments_read").count()
    page = client.get(f"/org/feedback/brands/{world.a.brand.pk}/comments/").content.decode()
    assert page.count("The breathing exercises helped") == 5
    assert "Dr. Rated" in page
    for response in FeedbackResponse.objects.select_related("patient"):
        assert response.patient.email not in page and response.patient.display_name not in page
    assert AuditEvent.objects.filter(action="feedback.comments_read").count() == events + 1


def test_the_brand_total_hides_what_subtraction_would_reveal(world, client_for, answered):
    other_user = factories.make_user()
    factories.grant(other_user, "specialist", network=world.a.network)
    other = session_type_of(other_user, world.a.brand)
    answer(completed(other, new_patient(world.a), world.a.brand), satisfaction=1, nps=0)
    body = client_for(world.a.operator, world.a.brand).get("/org/feedback/").content.decode()
    assert "Not enough responses yet to show results (1 of 5)." in body  # the other's row
    assert "hidden to protect a small group" in body  # the total's figures
    assert "3.5" not in body  # the total's satisfaction, 21 / 6


def test_clinic_admin_sees_brand_totals_and_only_the_clinics_own_specialists(
    world, client_for, answered
):
    client = client_for(world.a.org_admin, world.a.brand)
    body = client.get("/org/feedback/").content.decode()
    assert "Brand A" in body and "Sister A" not in body  # the clinic serves Brand A only
    assert "4.0" in body  # the brand's total
    assert "Dr. Rated" not in body  # onboarded by the operator, not the clinic
    profile = answered.profile
    profile.onboarded_by = world.a.clinic
    profile.save(update_fields=["onboarded_by"])
    body = client.get("/org/feedback/").content.decode()
    assert "Dr. Rated" in body
    page = client.get(f"/org/feedback/brands/{world.a.brand.pk}/comments/").content.decode()
    assert "The breathing exercises helped" in page
    sister = client.get(f"/org/feedback/brands/{world.a.sister.pk}/comments/")
    assert sister.status_code == 404


def test_employer_sees_brand_totals_only(world, client_for, answered, employer_admin):
    client = client_for(employer_admin, world.a.brand)
    body = client.get("/org/feedback/").content.decode()
    assert "Brand A" in body and "4.0" in body and "40" in body
    assert "promoters: 3 · passives: 1 · detractors: 1" in body
    assert "Dr. Rated" not in body and "Read the comments" not in body
    events = AuditEvent.objects.count()
    comments = client.get(f"/org/feedback/brands/{world.a.brand.pk}/comments/")
    assert comments.status_code == 404
    assert "breathing" not in comments.content.decode()
    assert AuditEvent.objects.count() == events


def test_small_groups_are_suppressed_for_organizations_too(world, client_for, st, employer_admin):
    give_answers(world, st, 3)
    for user in (world.a.operator, employer_admin):
        body = client_for(user, world.a.brand).get("/org/feedback/").content.decode()
        assert "Not enough responses yet to show results (3 of 5)." in body
        assert "4.0" not in body


@pytest.mark.parametrize("role", ["org_staff", "finance"])
def test_org_roles_without_the_capability_get_404(world, client_for, answered, role):
    client = client_for(world.a.people[role], world.a.brand)
    assert client.get("/org/feedback/").status_code == 404
    assert client.get(f"/org/feedback/brands/{world.a.brand.pk}/comments/").status_code == 404


@pytest.mark.parametrize("role", ["patient", "specialist", "affiliate"])
def test_other_portals_roles_are_refused(world, client_for, answered, role):
    client = client_for(world.a.people[role], world.a.brand)
    assert client.get("/org/feedback/").status_code == 403
    assert client.get(f"/org/feedback/brands/{world.a.brand.pk}/comments/").status_code == 403


def test_the_other_networks_operator_sees_nothing_of_this_network(world, client_for, answered):
    assert client_for(world.b.operator, world.a.brand).get("/org/feedback/").status_code == 403
    client = client_for(world.b.operator, world.b.brand)
    body = client.get("/org/feedback/").content.decode()
    assert "Brand B" in body and "Brand A" not in body and "Dr. Rated" not in body
    page = client.get(f"/org/feedback/brands/{world.a.brand.pk}/comments/")
    assert page.status_code == 404


# --- the operator's settings ----------------------------------------------------------------


def settings_url(brand) -> str:  # type: ignore[no-untyped-def]
    return f"/org/brands/{brand.pk}/feedback/"


VALID = {
    "ask_satisfaction": "on",
    "ask_progress": "on",
    "allow_comment": "on",
    "cadence": "first_and_nth",
    "every_nth": "4",
    "min_group_size": "8",
}


def test_operator_saves_a_brands_feedback_questions(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    body = client.get(settings_url(world.a.brand)).content.decode()
    assert "This brand uses the defaults until you save." in body
    response = client.post(settings_url(world.a.brand), VALID, follow=True)
    assert response.redirect_chain == [(settings_url(world.a.brand), 302)]
    body = response.content.decode()
    assert "The feedback questions of Brand A were saved." in body
    assert "This brand uses the defaults until you save." not in body
    saved = FeedbackSettings.objects.get(brand=world.a.brand)
    assert not saved.ask_nps and saved.ask_satisfaction
    assert (saved.cadence, saved.every_nth, saved.min_group_size) == ("first_and_nth", 4, 8)
    assert AuditEvent.objects.filter(action="feedback.settings_saved").count() == 1


def test_bad_settings_change_nothing(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    for bad in [{"min_group_size": "2"}, {"every_nth": "1"}, {"cadence": "sometimes"}]:
        response = client.post(settings_url(world.a.brand), {**VALID, **bad})
        assert response.status_code == 400
        assert "Nothing was saved" in response.content.decode()
    assert not FeedbackSettings.objects.exists()


@pytest.mark.parametrize("who", ["org_admin", "org_staff", "finance", "employer", "other_operator"])
def test_only_the_networks_operator_changes_settings(world, client_for, employer_admin, who):
    user = {"employer": employer_admin, "other_operator": world.b.operator}.get(who) or (
        world.a.people[who]
    )
    host_brand = world.b.brand if who == "other_operator" else world.a.brand
    client = client_for(user, host_brand)
    assert client.get(settings_url(world.a.brand)).status_code == 404
    assert client.post(settings_url(world.a.brand), VALID).status_code == 404
    assert not FeedbackSettings.objects.exists()
    assert not AuditEvent.objects.filter(action="feedback.settings_saved").exists()
