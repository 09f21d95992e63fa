"""Intake pages: the patient's form (draft, submit, conditions, next=), the booking gate,
the specialist's answers page (allocated specialist only, audited; everyone else 404),
and the organization's question builder across roles (a forbidden POST changes nothing)."""

from __future__ import annotations

import html
import re
from datetime import time, timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.care.actions import do_allocate
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.intake.actions import (
    do_create_questionnaire,
    do_publish_version,
    do_save_answers,
    read_answers,
)
from caredoor.core.intake.models import IntakeResponse, Questionnaire, QuestionnaireVersion
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.core.specialists.actions import do_register_specialist
from caredoor.portals.patient.booking_display import slot_value
from tests import factories
from tests.conftest import ROLES
from tests.specialist_helpers import approved_and_listed

SECRET = "the lighthouse keeper's advice"
QUESTIONS = [
    {
        "key": "concern",
        "label": "What brings you here?",
        "type": "choice",
        "required": True,
        "choices": ["Anxiety", "Low mood"],
    },
    {
        "key": "wellbeing",
        "label": "How are you today?",
        "type": "scale",
        "scale": {"min": 1, "max": 5, "min_label": "Very low", "max_label": "Very good"},
    },
    {"key": "before", "label": "Therapy before?", "type": "yes_no", "required": True},
    {
        "key": "helped",
        "label": "What helped?",
        "type": "text",
        "required": True,
        "show_if": {"question": "before", "equals": "yes"},
    },
    {"key": "since", "label": "When did this start?", "type": "date"},
]


def text(response) -> str:  # type: ignore[no-untyped-def]
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(body))


@pytest.fixture
def questionnaire(world) -> Questionnaire:
    brand = world.a.brand
    brand.modules = [*brand.modules, "intake"]
    brand.save(update_fields=["modules"])
    q = do_create_questionnaire(
        brand=brand, title="About you", stage="booking", actor=world.a.operator
    )
    do_publish_version(q, questions=QUESTIONS, actor=world.a.operator)
    return q


def answers(**changes):  # type: ignore[no-untyped-def]
    data = {
        "q_concern": "Anxiety",
        "q_wellbeing": "2",
        "q_before": "yes",
        "q_helped": SECRET,
        "q_since": "2025-10-01",
    }
    data.update(changes)
    return data


def post_form(client, q, **data):  # type: ignore[no-untyped-def]
    version = q.current_version()
    return client.post(f"/intake/{q.pk}/", {"version": version.pk, **data})


# --- the patient --------------------------------------------------------------------------


def test_the_form_is_accessible_and_conditional_questions_carry_a_hint(
    world, client_for, questionnaire
):
    response = client_for(world.a.patient, world.a.brand).get(f"/intake/{questionnaire.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<legend>What brings you here?" in body
    assert 'type="radio" name="q_concern" value="Anxiety"' in body
    assert 'type="date" name="q_since"' in body
    assert "1 (Very low)" in body and "5 (Very good)" in body
    assert 'data-show-if="q_before" data-show-if-value="yes"' in body
    assert "Answer only if you answered “Yes” to “Therapy before?”." in text(response)
    assert "caredoor/js/intake.js" in body
    assert "<script>" not in body and "style=" not in body


def test_save_a_draft_then_submit_and_go_to_next(world, client_for, questionnaire):
    client = client_for(world.a.patient, world.a.brand)
    response = post_form(client, questionnaire, action="save", q_concern="Low mood")
    assert response.status_code == 302
    draft = IntakeResponse.objects.get()
    assert draft.status == "draft"
    # The draft fills the form again.
    page = client.get(f"/intake/{questionnaire.pk}/").content.decode()
    assert 'value="Low mood" id="id_q_concern_1" checked' in page
    response = post_form(client, questionnaire, action="submit", next="/sessions/", **answers())
    assert response.status_code == 302 and response["Location"] == "/sessions/"
    draft.refresh_from_db()
    assert draft.status == "submitted"
    assert read_answers(draft)["helped"] == SECRET
    # Submitted: the list says so, and a gate's next= passes straight through.
    assert "Submitted" in text(client.get("/intake/"))
    again = client.get(f"/intake/{questionnaire.pk}/?next=/sessions/")
    assert again.status_code == 302 and again["Location"] == "/sessions/"


def test_submit_errors_name_the_questions_and_hidden_answers_are_ignored(
    world, client_for, questionnaire
):
    client = client_for(world.a.patient, world.a.brand)
    response = post_form(client, questionnaire, action="submit", q_before="yes")
    assert response.status_code == 400
    page = re.sub(r"\s+:", ":", text(response))
    assert "Nothing was saved." in page
    assert "What brings you here?: Please answer this question." in page
    assert "What helped?: Please answer this question." in page
    assert not IntakeResponse.objects.exists()
    # "No": the conditional question is hidden, so its (posted) answer is dropped.
    response = post_form(client, questionnaire, action="submit", **answers(q_before="no"))
    assert response.status_code == 302
    assert "helped" not in read_answers(IntakeResponse.objects.get())


def test_an_unsafe_next_is_ignored(world, client_for, questionnaire):
    client = client_for(world.a.patient, world.a.brand)
    response = post_form(
        client, questionnaire, action="submit", next="https://evil.example/", **answers()
    )
    assert response["Location"] == "/intake/"


def test_an_outdated_form_keeps_the_answers_and_saves_nothing(world, client_for, questionnaire):
    client = client_for(world.a.patient, world.a.brand)
    old = questionnaire.current_version()
    do_publish_version(questionnaire, questions=QUESTIONS[:3], actor=world.a.operator)
    response = client.post(
        f"/intake/{questionnaire.pk}/", {"version": old.pk, "action": "submit", **answers()}
    )
    assert response.status_code == 409
    assert "has changed since you opened it" in text(response)
    assert 'value="Anxiety" id="id_q_concern_0" checked' in response.content.decode()
    assert not IntakeResponse.objects.exists()


def test_questionnaires_are_per_brand_and_need_the_module(world, client_for, questionnaire):
    # A patient of the other network's brand, and the sister brand: 404.
    b_client = client_for(world.b.patient, world.b.brand)
    assert b_client.get(f"/intake/{questionnaire.pk}/").status_code == 404
    sister_patient = factories.make_user("sister.patient@example.test")
    factories.grant(sister_patient, "patient", network=world.a.network, brand=world.a.sister)
    sister = client_for(sister_patient, world.a.sister)
    assert sister.get(f"/intake/{questionnaire.pk}/").status_code == 404
    assert sister.post(f"/intake/{questionnaire.pk}/", answers()).status_code == 404
    assert not IntakeResponse.objects.exists()
    brand = world.a.brand
    brand.modules = [m for m in brand.modules if m != "intake"]
    brand.save(update_fields=["modules"])
    client = client_for(world.a.patient, world.a.brand)
    assert client.get(f"/intake/{questionnaire.pk}/").status_code == 404
    assert client.get("/intake/").status_code == 200


def test_the_booking_confirmation_sends_the_patient_to_the_intake_and_back(
    world, client_for, questionnaire
):
    profile, _ = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    session_type = SessionType.objects.create(
        profile=profile, name="Session", duration_minutes=50, min_notice_minutes=60
    )
    start = next_free_slots(session_type, now=timezone.now() + timedelta(days=3), limit=1)[0].start
    confirm = (
        f"/specialists/{profile.pk}/book/confirm/"
        f"?type={session_type.pk}&start={quote(slot_value(start))}"
    )
    client = client_for(world.a.patient, world.a.brand)
    response = client.get(confirm)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"/intake/{questionnaire.pk}/?next=")
    form = client.get(location)
    assert form.status_code == 200
    next_value = re.search(r'name="next" value="([^"]+)"', form.content.decode()).group(1)
    response = post_form(
        client, questionnaire, action="submit", next=html.unescape(next_value), **answers()
    )
    assert response.status_code == 302
    assert response["Location"] == html.unescape(next_value)
    back = client.get(response["Location"])
    assert back.status_code == 200
    assert "Confirm your session" in text(back)


def test_pending_steps_only_with_the_module(world, rf, questionnaire):
    from caredoor.portals.patient.intake import pending_steps

    request = rf.get("/")
    request.user = world.a.patient
    steps = pending_steps(request, world.a.brand, "booking")
    assert [(s.kind, s.url) for s in steps] == [("intake", f"/intake/{questionnaire.pk}/")]
    assert steps[0].title == 'Complete the intake questionnaire "About you"'
    assert pending_steps(request, world.a.brand, "matching") == []
    assert pending_steps(request, world.a.sister, "session") == []


# --- the specialist -----------------------------------------------------------------------


@pytest.fixture
def submitted(world, questionnaire):  # type: ignore[no-untyped-def]
    version = questionnaire.current_version()
    raw = {k[2:]: v for k, v in answers().items()}
    do_save_answers(world.a.patient, world.a.brand, version, raw, submit=True)
    profile = do_register_specialist(world.a.specialist, world.a.brand)
    rel = do_allocate(
        brand=world.a.brand, patient=world.a.patient, profile=profile, source="directory"
    )
    return profile, rel


def test_the_allocated_specialist_reads_the_answers_and_each_read_is_audited(
    world, client_for, submitted
):
    _profile, rel = submitted
    client = client_for(world.a.specialist, world.a.brand)
    response = client.get(f"/specialist/intake/{rel.pk}/")
    assert response.status_code == 200
    page = text(response)
    assert SECRET in page
    assert "What brings you here? Anxiety" in page
    assert "Yes" in page
    assert response["Cache-Control"] == "private, no-store"
    event = AuditEvent.objects.filter(action="intake.read").get()
    assert event.actor_id == world.a.specialist.pk
    assert SECRET not in str(event.data)
    client.get(f"/specialist/intake/{rel.pk}/")
    assert AuditEvent.objects.filter(action="intake.read").count() == 2


def test_nobody_else_reads_the_answers(world, client_for, submitted):
    _profile, rel = submitted
    url = f"/specialist/intake/{rel.pk}/"
    # Another specialist of the same network: 404 (the relationship is not theirs).
    other = factories.make_user("other.specialist@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    do_register_specialist(other, world.a.brand)
    assert client_for(other, world.a.brand).get(url).status_code == 404
    # Every other role is refused by the portal; the other network too.
    for role in ROLES:
        if role == "specialist":
            continue
        response = client_for(world.a.people[role], world.a.brand).get(url)
        assert response.status_code == 403, role
        assert SECRET not in response.content.decode()
    b_spec = world.b.specialist
    do_register_specialist(b_spec, world.b.brand)
    assert client_for(b_spec, world.b.brand).get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="intake.read").exists()
    # Organization pages never show answers either.
    operator_pages = ["/org/intake/", f"/org/intake/{rel.pk}/"]
    for page in operator_pages:
        assert SECRET not in client_for(world.a.operator, world.a.brand).get(page).content.decode()


def test_same_specialist_on_another_brand_and_after_the_end_gets_404(world, client_for, submitted):
    from caredoor.core.care.actions import do_end

    profile, rel = submitted
    sister_rel = do_allocate(
        brand=world.a.sister, patient=world.a.patient, profile=profile, source="directory"
    )
    client = client_for(world.a.specialist, world.a.brand)
    # The sister brand's relationship shows the sister brand's answers only: none.
    response = client.get(f"/specialist/intake/{sister_rel.pk}/")
    assert response.status_code == 200
    assert SECRET not in response.content.decode()
    do_end(rel, reason="ended", actor=world.a.patient)
    assert client.get(f"/specialist/intake/{rel.pk}/").status_code == 404


# --- the organization's builder -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("operator", 200),
        ("org_admin", 200),
        ("org_staff", 404),
        ("finance", 404),
        ("patient", 403),
        ("specialist", 403),
        ("affiliate", 403),
    ],
)
def test_the_builder_list_by_role(world, client_for, role, status):
    response = client_for(world.a.people[role], world.a.brand).get("/org/intake/")
    assert response.status_code == status


def test_the_operator_builds_a_questionnaire_through_forms(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(
        "/org/intake/", {"brand": world.a.brand.pk, "title": "Welcome", "stage": "session"}
    )
    q = Questionnaire.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/org/intake/{q.pk}/"
    base = f"/org/intake/{q.pk}/questions"
    response = client.post(
        f"{base}/add/",
        {"label": "Therapy before?", "type": "yes_no", "required": "on"},
    )
    assert response.status_code == 302
    response = client.post(
        f"{base}/add/",
        {"label": "Which kind?", "type": "choice", "choices": "CBT\nOther\n\n"},
    )
    assert response.status_code == 302
    # A condition on the yes/no question, with "Yes" written as the editor types it.
    response = client.post(
        f"{base}/add/",
        {
            "label": "What helped?",
            "type": "text",
            "show_if_question": "therapy_before",
            "show_if_answer": "Yes",
        },
    )
    assert response.status_code == 302, text(response)
    draft = q.draft_version()
    assert [x["key"] for x in draft.questions] == ["therapy_before", "which_kind", "what_helped"]
    assert draft.questions[1]["choices"] == ["CBT", "Other"]
    assert draft.questions[2]["show_if"] == {"question": "therapy_before", "equals": "yes"}
    # Moving the conditional question up is fine until it would precede its condition.
    client.post(f"{base}/what_helped/move/", {"direction": "up"})
    order = ["therapy_before", "what_helped", "which_kind"]
    assert [x["key"] for x in q.draft_version().questions] == order
    response = client.post(f"{base}/what_helped/move/", {"direction": "up"}, follow=True)
    assert "A question can depend only on a question before it." in text(response)
    assert [x["key"] for x in q.draft_version().questions] == order
    # Removing the question another depends on is refused too.
    response = client.post(f"{base}/therapy_before/remove/")
    page = text(client.get(response["Location"]))
    assert "which is not an earlier question" in page
    assert len(q.draft_version().questions) == 3
    # Edit a question; remove one; preview; publish.
    response = client.post(
        f"{base}/which_kind/",
        {
            "label": "Which kind of therapy?",
            "type": "choice",
            "choices": "CBT\nPsychodynamic",
            "key": "which_kind",
        },
    )
    assert response.status_code == 302
    client.post(f"{base}/which_kind/move/", {"direction": "up"})
    client.post(f"{base}/which_kind/move/", {"direction": "up"})
    assert q.draft_version().questions[0]["key"] == "which_kind"
    preview = client.get(f"/org/intake/{q.pk}/preview/")
    assert "Which kind of therapy?" in text(preview)
    response = client.post(f"/org/intake/{q.pk}/publish/")
    version = q.current_version()
    assert version.number == 1 and len(version.questions) == 3
    assert q.draft_version() is None
    assert "Version 1" in text(client.get(f"/org/intake/{q.pk}/"))
    # An edit after publishing starts draft 2; version 1 stays as it was.
    client.post(f"{base}/what_helped/remove/")
    assert len(q.draft_version().questions) == 2 and q.draft_version().number == 2
    assert len(QuestionnaireVersion.objects.get(pk=version.pk).questions) == 3
    assert client.get(f"/org/intake/{q.pk}/versions/1/").status_code == 200


def test_bad_question_input_shows_field_errors_and_changes_nothing(world, client_for):
    q = do_create_questionnaire(
        brand=world.a.brand, title="T", stage="booking", actor=world.a.operator
    )
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(
        f"/org/intake/{q.pk}/questions/add/",
        {"label": "Pick", "type": "choice", "choices": "only one"},
    )
    assert response.status_code == 400
    assert "Give at least two choices, one per line." in text(response)
    response = client.post(
        f"/org/intake/{q.pk}/questions/add/",
        {"label": "Mood", "type": "scale", "scale_min": "5", "scale_max": "1"},
    )
    assert response.status_code == 400
    assert "The scale must go up" in text(response)
    assert q.draft_version().questions == []
    response = client.post(f"/org/intake/{q.pk}/publish/", follow=True)
    assert "Add at least one question before publishing." in text(response)
    assert q.current_version() is None


def test_org_admin_builds_only_their_programs_questionnaires(world, client_for):
    operator_q = do_create_questionnaire(
        brand=world.a.brand, title="Operator's", stage="booking", actor=world.a.operator
    )
    client = client_for(world.a.org_admin, world.a.brand)
    # Creating: the program is their organization; a brand they are not bound to is refused.
    response = client.post(
        "/org/intake/", {"brand": world.a.sister.pk, "title": "X", "stage": "booking"}
    )
    assert response.status_code == 400
    response = client.post(
        "/org/intake/", {"brand": world.a.brand.pk, "title": "Clinic intake", "stage": "booking"}
    )
    assert response.status_code == 302
    own = Questionnaire.objects.get(title="Clinic intake")
    assert own.organization == world.a.clinic
    assert client.get(f"/org/intake/{own.pk}/").status_code == 200
    # The operator's questionnaire is not theirs: 404 for pages and POSTs, nothing changes.
    events = AuditEvent.objects.count()
    assert client.get(f"/org/intake/{operator_q.pk}/").status_code == 404
    assert (
        client.post(
            f"/org/intake/{operator_q.pk}/questions/add/", {"label": "Hack", "type": "text"}
        ).status_code
        == 404
    )
    assert client.post(f"/org/intake/{operator_q.pk}/publish/").status_code == 404
    assert AuditEvent.objects.count() == events
    assert operator_q.draft_version().questions == []
    assert "Operator&#x27;s" not in client.get("/org/intake/").content.decode()


@pytest.mark.parametrize("who", ["org_staff", "other_operator", "patient"])
def test_forbidden_builder_posts_change_nothing(world, client_for, who):
    q = do_create_questionnaire(
        brand=world.a.brand, title="T", stage="booking", actor=world.a.operator
    )
    user, brand = {
        "org_staff": (world.a.org_staff, world.a.brand),
        "other_operator": (world.b.operator, world.b.brand),
        "patient": (world.a.patient, world.a.brand),
    }[who]
    client = client_for(user, brand)
    events = AuditEvent.objects.count()
    for url, data in [
        (f"/org/intake/{q.pk}/questions/add/", {"label": "Hack", "type": "text"}),
        (f"/org/intake/{q.pk}/", {"title": "Hacked", "stage": "session", "is_active": "on"}),
        (f"/org/intake/{q.pk}/publish/", {}),
        ("/org/intake/", {"brand": world.a.brand.pk, "title": "New", "stage": "booking"}),
    ]:
        # The other network's operator gets a form error: brand A is not among its choices.
        assert client.post(url, data).status_code in (400, 403, 404)
    q.refresh_from_db()
    assert q.title == "T" and q.draft_version().questions == []
    assert Questionnaire.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_the_console_host_and_the_other_network(world, client_for):
    q = do_create_questionnaire(
        brand=world.a.brand, title="Network A's", stage="booking", actor=world.a.operator
    )
    console = client_for(world.a.operator, None, host="localhost")
    assert console.get("/org/intake/").status_code == 200
    assert "Network A&#x27;s" in console.get("/org/intake/").content.decode()
    assert console.get(f"/org/intake/{q.pk}/").status_code == 200
    other = client_for(world.b.operator, world.b.brand)
    for url in [
        f"/org/intake/{q.pk}/",
        f"/org/intake/{q.pk}/preview/",
        f"/org/intake/{q.pk}/questions/add/",
    ]:
        assert other.get(url).status_code == 404
    assert "Network A" not in other.get("/org/intake/").content.decode()
