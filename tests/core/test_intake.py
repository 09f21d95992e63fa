"""Intake questionnaires: question validation, versions, answers (draft, submit, conditions),
encryption at rest, and who may read the answers (the allocated specialist only, audited)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404

from caredoor.core.brands.models import Brand
from caredoor.core.care.actions import do_allocate, do_end
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.intake import schema
from caredoor.core.intake.actions import (
    do_create_questionnaire,
    do_discard_draft,
    do_publish_version,
    do_save_answers,
    do_save_draft,
    read_answers,
)
from caredoor.core.intake.models import IntakeResponse, QuestionnaireVersion
from caredoor.core.intake.queries import answers_for_specialist, outstanding_intake
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories

QUESTIONS = [
    {
        "key": "concern",
        "label": "What brings you here?",
        "type": "choice",
        "required": True,
        "choices": ["Anxiety", "Low mood", "Something else"],
    },
    {
        "key": "times",
        "label": "Preferred times",
        "type": "multi_choice",
        "choices": ["Mornings", "Evenings"],
    },
    {
        "key": "wellbeing",
        "label": "How are you today?",
        "type": "scale",
        "required": True,
        "scale": {"min": 1, "max": 10, "min_label": "Very low", "max_label": "Very good"},
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
    {
        "key": "evening_note",
        "label": "Anything about evenings?",
        "type": "text",
        "show_if": {"question": "times", "contains": "Evenings"},
    },
]

SECRET = "my grandmother's cat knows"


def intake_brand(world) -> Brand:
    brand = world.a.brand
    brand.modules = [*brand.modules, "intake"]
    brand.save(update_fields=["modules"])
    return brand


def published(world, stage="booking", questions=None, brand=None):  # type: ignore[no-untyped-def]
    brand = brand or intake_brand(world)
    q = do_create_questionnaire(brand=brand, title="About you", stage=stage, actor=world.a.operator)
    version = do_publish_version(q, questions=questions or QUESTIONS, actor=world.a.operator)
    return q, version


def good_answers(**changes):  # type: ignore[no-untyped-def]
    answers = {
        "concern": "Anxiety",
        "times": ["Evenings"],
        "wellbeing": "4",
        "before": "yes",
        "helped": SECRET,
        "since": "2025-11-02",
        "evening_note": "Late is fine",
    }
    answers.update(changes)
    return answers


# --- schema ----------------------------------------------------------------------------------


def test_a_valid_list_is_normalized():
    cleaned = schema.validate_questions(QUESTIONS)
    assert [q["key"] for q in cleaned] == [q["key"] for q in QUESTIONS]
    assert cleaned[1]["required"] is False
    assert cleaned[4]["show_if"] == {"question": "before", "equals": "yes"}
    assert cleaned[6]["show_if"] == {"question": "times", "contains": "Evenings"}


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([{"key": "a", "label": "A", "type": "essay"}], "“essay” is not a question type"),
        ([{"key": "A b", "label": "A", "type": "text"}], "The key must start with a letter"),
        (
            [
                {"key": "a", "label": "A", "type": "text"},
                {"key": "a", "label": "B", "type": "text"},
            ],
            "Another question already uses the key “a”",
        ),
        ([{"key": "a", "label": "", "type": "text"}], "Write the question"),
        (
            [{"key": "a", "label": "A", "type": "choice", "choices": ["only"]}],
            "at least two choices",
        ),
        (
            [{"key": "a", "label": "A", "type": "scale", "scale": {"min": 5, "max": 1}}],
            "The scale must go up",
        ),
        (
            [
                {
                    "key": "a",
                    "label": "A",
                    "type": "text",
                    "show_if": {"question": "nope", "equals": "yes"},
                }
            ],
            "refers to “nope”, which is not an earlier question",
        ),
        (
            [
                {
                    "key": "a",
                    "label": "A",
                    "type": "text",
                    "show_if": {"question": "b", "equals": "yes"},
                },
                {"key": "b", "label": "B", "type": "yes_no"},
            ],
            "refers to “b”, which is not an earlier question",
        ),
        (
            [
                {"key": "b", "label": "B", "type": "yes_no"},
                {
                    "key": "a",
                    "label": "A",
                    "type": "text",
                    "show_if": {"question": "b", "equals": "maybe"},
                },
            ],
            "must be one of: “yes”, “no”",
        ),
        (
            [
                {"key": "b", "label": "B", "type": "text"},
                {
                    "key": "a",
                    "label": "A",
                    "type": "text",
                    "show_if": {"question": "b", "equals": "x"},
                },
            ],
            "can depend only on a choice, several-choice or yes/no question",
        ),
        ("not a list", "The questions must be a list"),
    ],
)
def test_bad_questions_are_refused_with_clear_messages(questions, message):
    with pytest.raises(ValidationError) as exc:
        schema.validate_questions(questions)
    assert any(message in m for m in exc.value.messages), exc.value.messages


def test_messages_name_the_question_by_number_and_key():
    with pytest.raises(ValidationError) as exc:
        schema.validate_questions(
            [
                {"key": "ok", "label": "Ok", "type": "text"},
                {"key": "bad", "label": "B", "type": "x"},
            ]
        )
    assert exc.value.messages[0].startswith("Question 2 (“bad”)")


# --- versions --------------------------------------------------------------------------------


def test_publishing_numbers_versions_and_published_versions_are_immutable(world):
    q, v1 = published(world)
    assert v1.number == 1 and v1.is_published
    draft = do_save_draft(q, questions=QUESTIONS[:2], actor=world.a.operator)
    assert draft.number == 2 and not draft.is_published
    assert q.current_version().pk == v1.pk  # patients still get v1
    v2 = do_publish_version(q, actor=world.a.operator)
    assert v2.pk == draft.pk and v2.number == 2
    assert q.current_version().pk == v2.pk
    assert q.draft_version() is None
    v1.refresh_from_db()
    v1.questions = []
    with pytest.raises(ValidationError):
        v1.save()
    assert len(QuestionnaireVersion.objects.get(pk=v1.pk).questions) == len(QUESTIONS)
    assert AuditEvent.objects.filter(action="intake.version_published").count() == 2


def test_a_bad_draft_changes_nothing_and_an_empty_one_cannot_be_published(world):
    q = do_create_questionnaire(
        brand=intake_brand(world), title="T", stage="booking", actor=world.a.operator
    )
    with pytest.raises(ValidationError):
        do_save_draft(q, questions=[{"key": "a", "label": "A", "type": "nope"}], actor=None)
    assert q.draft_version().questions == []
    with pytest.raises(ValidationError, match="at least one question"):
        do_publish_version(q, actor=world.a.operator)
    assert q.current_version() is None
    with pytest.raises(ValidationError, match="no published version"):
        do_discard_draft(q, actor=world.a.operator)


def test_questionnaire_settings_are_validated(world):
    brand = intake_brand(world)
    with pytest.raises(ValidationError) as exc:
        do_create_questionnaire(brand=brand, title="", stage="signup", actor=world.a.operator)
    assert set(exc.value.message_dict) == {"title", "stage"}
    with pytest.raises(ValidationError) as exc:
        do_create_questionnaire(
            brand=world.a.sister,
            title="T",
            stage="booking",
            organization=world.a.clinic,
            actor=None,
        )
    assert "organization" in exc.value.message_dict


# --- answers -------------------------------------------------------------------------------


def test_draft_then_submit_and_the_answers_are_encrypted_at_rest(world):
    q, version = published(world)
    patient = world.a.patient
    draft = do_save_answers(
        patient,
        q.brand,
        version,
        {"concern": "Anxiety", "helped": SECRET, "before": "yes"},
        submit=False,
    )
    assert draft.status == "draft" and draft.submitted_at is None
    assert read_answers(draft) == {"concern": "Anxiety", "before": "yes", "helped": SECRET}
    response = do_save_answers(patient, q.brand, version, good_answers(), submit=True)
    assert response.pk == draft.pk and response.status == "submitted"
    with connection.cursor() as cur:
        cur.execute(
            "SELECT answers_encrypted FROM intake_intakeresponse WHERE id = %s", [response.pk]
        )
        stored = cur.fetchone()[0]
    assert SECRET not in stored and "Anxiety" not in stored
    assert read_answers(response)["wellbeing"] == 4
    # No answer in the audit trail.
    for event in AuditEvent.objects.filter(action__startswith="intake."):
        assert SECRET not in str(event.data) and "Anxiety" not in str(event.data)
    with pytest.raises(ValidationError, match="already submitted"):
        do_save_answers(patient, q.brand, version, good_answers(), submit=True)


def test_required_answers_only_for_shown_questions_and_hidden_answers_are_dropped(world):
    q, version = published(world)
    with pytest.raises(ValidationError) as exc:
        do_save_answers(world.a.patient, q.brand, version, {"before": "yes"}, submit=True)
    assert set(exc.value.message_dict) == {"concern", "wellbeing", "helped"}
    assert exc.value.message_dict["helped"] == ["Please answer this question."]
    assert not IntakeResponse.objects.exists()
    # "What helped?" is hidden when the answer is "no": not required, and its answer dropped.
    response = do_save_answers(
        world.a.patient,
        q.brand,
        version,
        good_answers(before="no", times=["Mornings"]),
        submit=True,
    )
    answers = read_answers(response)
    assert "helped" not in answers and "evening_note" not in answers
    assert answers["before"] == "no"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("concern", "Not an option"),
        ("times", ["Mornings", "Nights"]),
        ("wellbeing", "11"),
        ("wellbeing", "four"),
        ("since", "31/12/2025"),
        ("before", "maybe"),
    ],
)
def test_invalid_values_are_refused_even_in_a_draft(world, key, value):
    q, version = published(world)
    with pytest.raises(ValidationError) as exc:
        do_save_answers(
            world.a.patient, q.brand, version, good_answers(**{key: value}), submit=False
        )
    assert list(exc.value.message_dict) == [key]
    assert not IntakeResponse.objects.exists()


def test_a_new_version_keeps_submitted_responses_and_moves_drafts(world):
    q, v1 = published(world)
    done = do_save_answers(world.a.patient, q.brand, v1, good_answers(), submit=True)
    other = factories.make_user("p2@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=q.brand)
    do_save_answers(other, q.brand, v1, {"concern": "Anxiety"}, submit=False)
    v2 = do_publish_version(q, questions=QUESTIONS[:1], actor=world.a.operator)
    # The submitted response stays on v1 and nothing is due again.
    done.refresh_from_db()
    assert done.version_id == v1.pk
    assert outstanding_intake(world.a.patient, q.brand, "booking") is None
    # The draft must be finished on v2; v1 is refused as outdated.
    assert outstanding_intake(other, q.brand, "booking") == q
    with pytest.raises(ValidationError, match="changed since you opened it"):
        do_save_answers(other, q.brand, v1, {"concern": "Anxiety"}, submit=True)
    moved = do_save_answers(other, q.brand, v2, {"concern": "Low mood"}, submit=True)
    assert moved.version_id == v2.pk


# --- what is due ----------------------------------------------------------------------------


def test_outstanding_intake_follows_stages_module_and_activity(world):
    session_q, _v = published(world, stage="session")
    booking_q, _v = published(world, stage="booking")
    brand = booking_q.brand
    patient = world.a.patient
    assert outstanding_intake(patient, brand, "matching") is None
    assert outstanding_intake(patient, brand, "booking") == booking_q
    # Earlier stages come first at a later stage.
    assert outstanding_intake(patient, brand, "session") == booking_q
    do_save_answers(patient, brand, booking_q.current_version(), good_answers(), submit=True)
    assert outstanding_intake(patient, brand, "session") == session_q
    assert outstanding_intake(patient, brand, "booking") is None
    # Another brand of the network has nothing due; a brand without the module neither.
    assert outstanding_intake(patient, world.a.sister, "session") is None
    brand.modules = [m for m in brand.modules if m != "intake"]
    brand.save(update_fields=["modules"])
    assert outstanding_intake(patient, brand, "session") is None
    brand.modules.append("intake")
    brand.save(update_fields=["modules"])
    session_q.is_active = False
    session_q.save()
    assert outstanding_intake(patient, brand, "session") is None


def test_an_unpublished_questionnaire_is_not_due(world):
    do_create_questionnaire(
        brand=intake_brand(world), title="Draft only", stage="booking", actor=world.a.operator
    )
    assert outstanding_intake(world.a.patient, world.a.brand, "booking") is None


# --- who reads answers -----------------------------------------------------------------------


@pytest.fixture
def answered(world):  # type: ignore[no-untyped-def]
    q, version = published(world)
    do_save_answers(world.a.patient, q.brand, version, good_answers(), submit=True)
    profile = do_register_specialist(world.a.specialist, q.brand)
    return q, profile


def test_the_allocated_specialist_reads_the_answers_and_the_read_is_audited(world, answered):
    q, profile = answered
    do_allocate(brand=q.brand, patient=world.a.patient, profile=profile, source="directory")
    before = AuditEvent.objects.filter(action="intake.read").count()
    result = answers_for_specialist(profile, q.brand, world.a.patient, reader=world.a.specialist)
    assert len(result) == 1
    items = {i.key: i.answer for i in result[0].items}
    assert items["helped"] == SECRET
    assert items["times"] == "Evenings"
    assert items["before"] == "Yes"
    assert "10" in items["wellbeing"]
    events = AuditEvent.objects.filter(action="intake.read")
    assert events.count() == before + 1
    event = events.last()
    assert event.actor_id == world.a.specialist.pk
    assert event.data == {"patient": world.a.patient.pk, "responses": [result[0].response.pk]}
    assert SECRET not in str(event.data) + event.target_label
    # Each call is audited again.
    answers_for_specialist(profile, q.brand, world.a.patient, reader=world.a.specialist)
    assert events.count() == before + 2


def test_drafts_are_not_shown_to_the_specialist(world):
    q, version = published(world)
    do_save_answers(world.a.patient, q.brand, version, {"concern": "Anxiety"}, submit=False)
    profile = do_register_specialist(world.a.specialist, q.brand)
    do_allocate(brand=q.brand, patient=world.a.patient, profile=profile, source="directory")
    assert (
        answers_for_specialist(profile, q.brand, world.a.patient, reader=world.a.specialist) == []
    )


def test_another_specialist_another_brand_or_an_ended_relationship_get_404(world, answered):
    q, profile = answered
    other_user = factories.make_user("other.spec@example.test")
    factories.grant(other_user, "specialist", network=world.a.network)
    other = do_register_specialist(other_user, q.brand)
    rel = do_allocate(brand=q.brand, patient=world.a.patient, profile=profile, source="directory")
    do_allocate(brand=world.a.sister, patient=world.a.patient, profile=other, source="directory")
    events = AuditEvent.objects.filter(action="intake.read").count()
    with pytest.raises(Http404):  # not allocated to this patient on this brand
        answers_for_specialist(other, q.brand, world.a.patient, reader=other_user)
    with pytest.raises(Http404):  # the same specialist on another brand
        answers_for_specialist(profile, world.a.sister, world.a.patient, reader=world.a.specialist)
    do_end(rel, reason="ended", actor=world.a.patient)
    with pytest.raises(Http404):
        answers_for_specialist(profile, q.brand, world.a.patient, reader=world.a.specialist)
    assert AuditEvent.objects.filter(action="intake.read").count() == events


def test_the_demo_seed_is_idempotent_and_ana_has_submitted_harbors(world):
    from caredoor.demo.seed_intake import ANA, seed_intake

    harbor = factories.make_brand(world.a.network, "harbor.test", modules=["booking", "intake"])
    steady = factories.make_brand(world.a.network, "steady.test", modules=["booking", "intake"])
    ana = factories.make_user(ANA)
    factories.grant(ana, "patient", network=world.a.network, brand=harbor)
    lines: list[str] = []
    seed_intake({"harbor": harbor, "steadypath": steady}, lines.append)
    seed_intake({"harbor": harbor, "steadypath": steady}, lines.append)
    assert len(lines) == 3
    assert outstanding_intake(ana, harbor, "booking") is None
    assert outstanding_intake(ana, steady, "session") is not None
    response = IntakeResponse.objects.get(user=ana)
    assert read_answers(response)["what_helped"].startswith("Breathing")
