"""Scoped reads of intake: what a patient still has to answer, the questionnaires an
organization manages, and the answers an allocated specialist may read (audited).

Nobody else reads answers: not organization staff, operators (through the portals),
affiliates, nor specialists without an active care relationship on the brand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.brands.choices import Module, stages_due_by
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import is_allocated
from caredoor.core.compliance import audit
from caredoor.core.intake import schema
from caredoor.core.intake.actions import read_answers
from caredoor.core.intake.models import (
    IntakeResponse,
    Questionnaire,
    QuestionnaireVersion,
    ResponseStatus,
)
from caredoor.core.specialists.models import SpecialistProfile

# --- the patient's side -----------------------------------------------------------------------


def open_questionnaires(brand: Brand) -> QuerySet[Questionnaire]:
    """The brand's active questionnaires with a published version (none if the brand has
    no intake module)."""
    if not brand.has_module(Module.INTAKE):
        return Questionnaire.objects.none()
    return (
        Questionnaire.objects.filter(
            brand=brand, is_active=True, versions__published_at__isnull=False
        )
        .distinct()
        .order_by("pk")
    )


def access_open_questionnaire(brand: Brand, questionnaire_id: int) -> Questionnaire:
    try:
        return open_questionnaires(brand).get(pk=questionnaire_id)
    except Questionnaire.DoesNotExist:
        raise Http404 from None


def own_response(user: Any, questionnaire: Questionnaire) -> IntakeResponse | None:
    return IntakeResponse.objects.filter(user=user, questionnaire=questionnaire).first()


def outstanding_intake(user: Any, brand: Brand, stage: str) -> Questionnaire | None:
    """The first active questionnaire due by ``stage`` (earlier stages first) that the
    user has not submitted on this brand."""
    due = stages_due_by(stage)
    submitted = IntakeResponse.objects.filter(
        user=user, brand=brand, status=ResponseStatus.SUBMITTED
    ).values("questionnaire_id")
    candidates = open_questionnaires(brand).filter(stage__in=due).exclude(pk__in=submitted)
    return min(candidates, key=lambda q: (due.index(q.stage), q.pk), default=None)


def patient_questionnaires(
    user: Any, brand: Brand
) -> list[tuple[Questionnaire, IntakeResponse | None]]:
    """The brand's open questionnaires with the patient's response to each (if any)."""
    responses = {
        r.questionnaire_id: r
        for r in IntakeResponse.objects.filter(user=user, brand=brand).only(
            "id", "questionnaire_id", "status", "submitted_at", "updated_at", "version_id"
        )
    }
    return [(q, responses.get(q.pk)) for q in open_questionnaires(brand)]


def own_draft_answers(
    user: Any, response: IntakeResponse | None, *, request: HttpRequest | None = None
) -> dict[str, Any]:
    """The patient's own saved draft answers (to fill the form again); the read is audited."""
    if response is None or response.user_id != user.pk or response.is_submitted:
        return {}
    audit.record(
        "intake.read_own",
        actor=user,
        role="patient",
        target=response,
        brand=response.brand,
        request=request,
        data={"questionnaire": response.questionnaire_id},
    )
    return read_answers(response)


# --- organizations: who edits which questionnaires --------------------------------------------


def intake_brands_for(actor: Membership) -> QuerySet[Brand]:
    """Brands on which ``actor`` manages questionnaires: an operator every brand of the
    network; a client organization's admin the brands their organization is bound to."""
    qs = Brand.objects.filter(network_id=actor.network_id)
    if actor.role == Role.OPERATOR:
        return qs.order_by("name")
    if actor.role == Role.ORG_ADMIN and actor.organization_id:
        return qs.filter(organizations=actor.organization_id).order_by("name")
    return Brand.objects.none()


def questionnaires_managed_by(actor: Membership) -> QuerySet[Questionnaire]:
    """An operator manages every questionnaire of the network; an organization admin only
    their own organization's (program) questionnaires on brands it is bound to."""
    qs = Questionnaire.objects.select_related("brand", "organization")
    if actor.role == Role.OPERATOR:
        return qs.filter(brand__network_id=actor.network_id)
    if actor.role == Role.ORG_ADMIN and actor.organization_id:
        return qs.filter(
            organization_id=actor.organization_id,
            brand__in=intake_brands_for(actor),
        )
    return qs.none()


def access_managed_questionnaire(actor: Membership, questionnaire_id: int) -> Questionnaire:
    try:
        return questionnaires_managed_by(actor).get(pk=questionnaire_id)
    except Questionnaire.DoesNotExist:
        raise Http404 from None


def access_version(questionnaire: Questionnaire, number: int) -> QuestionnaireVersion:
    try:
        return questionnaire.versions.get(number=number)
    except QuestionnaireVersion.DoesNotExist:
        raise Http404 from None


# --- the allocated specialist -----------------------------------------------------------------


@dataclass(frozen=True)
class AnsweredItem:
    key: str
    label: str
    type: str
    answer: str  # as displayed; "" when not answered


@dataclass(frozen=True)
class AnsweredQuestionnaire:
    questionnaire: Questionnaire
    version: QuestionnaireVersion
    response: IntakeResponse
    submitted_at: datetime | None
    items: list[AnsweredItem]


def answers_for_specialist(
    profile: SpecialistProfile,
    brand: Brand,
    patient: Any,
    *,
    reader: Any,
    request: HttpRequest | None = None,
) -> list[AnsweredQuestionnaire]:
    """The patient's submitted intake answers on ``brand``, for a specialist with an active
    care relationship with them there (Http404 otherwise). Every call is audited."""
    if not is_allocated(profile, brand, patient):
        raise Http404
    responses = list(
        IntakeResponse.objects.filter(user=patient, brand=brand, status=ResponseStatus.SUBMITTED)
        .select_related("questionnaire", "version")
        .order_by("submitted_at", "pk")
    )
    audit.record(
        "intake.read",
        actor=reader,
        role="specialist",
        target=profile,
        brand=brand,
        request=request,
        data={"patient": patient.pk, "responses": [r.pk for r in responses]},
    )
    result = []
    for r in responses:
        answers = read_answers(r)
        questions = r.version.questions
        shown = schema.visible_keys(questions, answers)
        items = [
            AnsweredItem(
                key=q["key"],
                label=q["label"],
                type=q["type"],
                answer=schema.display_value(q, answers.get(q["key"])),
            )
            for q in questions
            if q["key"] in shown
        ]
        result.append(
            AnsweredQuestionnaire(
                questionnaire=r.questionnaire,
                version=r.version,
                response=r,
                submitted_at=r.submitted_at,
                items=items,
            )
        )
    return result
