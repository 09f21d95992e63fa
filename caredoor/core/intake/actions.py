"""Every change to intake questionnaires and responses (atomic, audited with ids only).

Answers never reach the audit trail, logs, emails or notifications: audit data names the
response, questionnaire and version, never a question's answer.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.compliance.crypto import decrypt_text, encrypt_text
from caredoor.core.intake import schema
from caredoor.core.intake.models import (
    INTAKE_STAGES,
    IntakeResponse,
    Questionnaire,
    QuestionnaireVersion,
    ResponseStatus,
)
from caredoor.core.organizations.models import Organization

TITLE_MAX = 200


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _clean_settings(brand: Brand, title: str, stage: str, organization: Any) -> str:
    errors: dict[str, str] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = _("Give the questionnaire a title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("A title can be at most %d characters long.") % TITLE_MAX
    if stage not in [s.value for s in INTAKE_STAGES]:
        errors["stage"] = _("Choose when the questionnaire is due.")
    if organization is not None and (organization.is_operator or not organization.serves(brand)):
        errors["organization"] = _("The program must be a client organization of this brand.")
    if errors:
        raise ValidationError(errors)
    return title


def do_create_questionnaire(
    *,
    brand: Brand,
    title: str,
    stage: str,
    actor: Any,
    organization: Organization | None = None,
    role: str = "",
    request: HttpRequest | None = None,
) -> Questionnaire:
    """A new questionnaire with an empty draft version (nothing is due until published)."""
    title = _clean_settings(brand, title, stage, organization)
    with transaction.atomic():
        q = Questionnaire.objects.create(
            brand=brand,
            organization=organization,
            title=title,
            stage=stage,
            created_by=_user(actor),
        )
        QuestionnaireVersion.objects.create(
            questionnaire=q, number=1, questions=[], created_by=_user(actor)
        )
        audit.record(
            "intake.questionnaire_created",
            actor=actor,
            role=role,
            target=q,
            brand=brand,
            request=request,
            data={"stage": stage, "organization": organization.pk if organization else None},
        )
    return q


def do_update_questionnaire(
    questionnaire: Questionnaire,
    *,
    title: str,
    stage: str,
    is_active: bool,
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> Questionnaire:
    title = _clean_settings(questionnaire.brand, title, stage, questionnaire.organization)
    changed = [
        name
        for name, value in (("title", title), ("stage", stage), ("is_active", is_active))
        if getattr(questionnaire, name) != value
    ]
    if not changed:
        return questionnaire
    with transaction.atomic():
        questionnaire.title, questionnaire.stage = title, stage
        questionnaire.is_active = is_active
        questionnaire.save(update_fields=changed)
        audit.record(
            "intake.questionnaire_changed",
            actor=actor,
            role=role,
            target=questionnaire,
            brand=questionnaire.brand,
            request=request,
            data={"fields": changed, "stage": stage, "is_active": is_active},
        )
    return questionnaire


def working_questions(questionnaire: Questionnaire) -> list[dict[str, Any]]:
    """What the editor works on: the draft's questions, else the current version's."""
    draft = questionnaire.draft_version()
    if draft is not None:
        return list(draft.questions)
    current = questionnaire.current_version()
    return list(current.questions) if current else []


def do_save_draft(
    questionnaire: Questionnaire,
    *,
    questions: list[dict[str, Any]],
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> QuestionnaireVersion:
    """Validate ``questions`` and keep them as the questionnaire's draft version."""
    cleaned = schema.validate_questions(questions)
    with transaction.atomic():
        Questionnaire.objects.select_for_update().filter(pk=questionnaire.pk).first()
        draft = questionnaire.draft_version()
        if draft is None:
            last = questionnaire.versions.order_by("-number").first()
            draft = QuestionnaireVersion.objects.create(
                questionnaire=questionnaire,
                number=(last.number + 1) if last else 1,
                questions=cleaned,
                created_by=_user(actor),
            )
        else:
            draft.questions = cleaned
            draft.save(update_fields=["questions"])
        audit.record(
            "intake.draft_saved",
            actor=actor,
            role=role,
            target=draft,
            brand=questionnaire.brand,
            request=request,
            data={"questionnaire": questionnaire.pk, "questions": len(cleaned)},
        )
    return draft


def do_discard_draft(
    questionnaire: Questionnaire, *, actor: Any, role: str = "", request: HttpRequest | None = None
) -> None:
    """Throw the draft away (only when a published version exists to fall back on)."""
    with transaction.atomic():
        draft = questionnaire.draft_version()
        if draft is None:
            return
        if questionnaire.current_version() is None:
            raise ValidationError(_("There is no published version to go back to."))
        audit.record(
            "intake.draft_discarded",
            actor=actor,
            role=role,
            target=draft,
            brand=questionnaire.brand,
            request=request,
            data={"questionnaire": questionnaire.pk},
        )
        draft.delete()


def do_publish_version(
    questionnaire: Questionnaire,
    *,
    questions: list[dict[str, Any]] | None = None,
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> QuestionnaireVersion:
    """Publish ``questions`` (default: the draft's) as the next version. Responses already
    submitted keep their version; patients who have not submitted get this one."""
    if questions is None:
        draft = questionnaire.draft_version()
        if draft is None:
            raise ValidationError(_("There are no changes to publish."), code="no_draft")
        questions = draft.questions
    cleaned = schema.validate_questions(questions)
    if not cleaned:
        raise ValidationError(_("Add at least one question before publishing."), code="empty")
    with transaction.atomic():
        Questionnaire.objects.select_for_update().filter(pk=questionnaire.pk).first()
        draft = questionnaire.draft_version()
        now = timezone.now()
        if draft is not None:
            draft.questions = cleaned
            draft.published_at = now
            draft.published_by = _user(actor)
            # Publishing is the draft's last change (save() refuses changes afterwards).
            QuestionnaireVersion.objects.filter(pk=draft.pk).update(
                questions=cleaned, published_at=now, published_by=_user(actor)
            )
            version = draft
        else:
            last = questionnaire.versions.order_by("-number").first()
            version = QuestionnaireVersion.objects.create(
                questionnaire=questionnaire,
                number=(last.number + 1) if last else 1,
                questions=cleaned,
                created_by=_user(actor),
                published_at=now,
                published_by=_user(actor),
            )
        audit.record(
            "intake.version_published",
            actor=actor,
            role=role,
            target=version,
            brand=questionnaire.brand,
            request=request,
            data={
                "questionnaire": questionnaire.pk,
                "number": version.number,
                "questions": len(cleaned),
            },
        )
    return version


# --- the patient's answers ---------------------------------------------------------------------


def read_answers(response: IntakeResponse) -> dict[str, Any]:
    """Decrypt a response's answers. Callers that show them to someone audit the read."""
    if not response.answers_encrypted:
        return {}
    return json.loads(decrypt_text(response.answers_encrypted))


def do_save_answers(
    user: Any,
    brand: Brand,
    version: QuestionnaireVersion,
    answers: dict[str, Any],
    *,
    submit: bool,
    request: HttpRequest | None = None,
) -> IntakeResponse:
    """Save the patient's answers as a draft (pause) or submit them.

    ``answers`` maps question keys to raw values (a string, or a list for several
    choices). Answers to questions hidden by their condition are dropped; on submission,
    every shown required question must be answered. Raises ValidationError with a
    message per question key (or a plain one), and then nothing is saved.
    """
    questionnaire = version.questionnaire
    if (
        questionnaire.brand_id != brand.pk
        or not questionnaire.is_active
        or not version.is_published
    ):
        raise ValidationError(_("This questionnaire is not open."), code="closed")
    current = questionnaire.current_version()
    if current is None or current.pk != version.pk:
        raise ValidationError(
            _("The questionnaire has changed since you opened it. Please check your answers."),
            code="outdated",
        )
    cleaned = schema.clean_answers(version.questions, answers, submit=submit)
    now = timezone.now()
    with transaction.atomic():
        response = (
            IntakeResponse.objects.select_for_update()
            .filter(user=user, questionnaire=questionnaire)
            .first()
        )
        if response is not None and response.is_submitted:
            raise ValidationError(
                _("You have already submitted this questionnaire."), code="submitted"
            )
        payload = encrypt_text(json.dumps(cleaned, sort_keys=True))
        status = ResponseStatus.SUBMITTED if submit else ResponseStatus.DRAFT
        if response is None:
            try:
                with transaction.atomic():
                    response = IntakeResponse.objects.create(
                        user=user,
                        brand=brand,
                        questionnaire=questionnaire,
                        version=version,
                        answers_encrypted=payload,
                        status=status,
                        started_at=now,
                        updated_at=now,
                        submitted_at=now if submit else None,
                    )
            except IntegrityError:
                raise ValidationError(
                    _("Your answers were saved in another window. Please reload the page."),
                    code="race",
                ) from None
        else:
            response.version = version
            response.answers_encrypted = payload
            response.status = status
            response.updated_at = now
            response.submitted_at = now if submit else None
            response.save(
                update_fields=[
                    "version",
                    "answers_encrypted",
                    "status",
                    "updated_at",
                    "submitted_at",
                ]
            )
        audit.record(
            "intake.submitted" if submit else "intake.draft_saved_by_patient",
            actor=user,
            role="patient",
            target=response,
            brand=brand,
            request=request,
            data={
                "questionnaire": questionnaire.pk,
                "version": version.pk,
                "answered": len(cleaned),
            },
        )
    return response
