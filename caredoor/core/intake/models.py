"""Intake questionnaires (per brand, optionally owned by a program), their versions, and
patients' responses (answers encrypted at rest).

A published version never changes: editing works on the questionnaire's one draft version,
which the operator publishes as the next number. A response keeps the version it was
submitted under; a draft response moves to the newest version when the patient resumes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.choices import JourneyStage

# Intake can sit before matching, before booking, or between booking and the session.
INTAKE_STAGES = [JourneyStage.MATCHING, JourneyStage.BOOKING, JourneyStage.SESSION]


class Questionnaire(models.Model):
    brand = models.ForeignKey(
        "brands.Brand", on_delete=models.PROTECT, related_name="questionnaires"
    )
    # A program's own questionnaire: a client organization bound to the brand, whose
    # admins may edit it. Empty: the operator's questionnaire for the whole brand.
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="questionnaires",
    )
    title = models.CharField(_("title"), max_length=200)
    stage = models.CharField(
        _("when"),
        max_length=20,
        choices=[(s.value, s.label) for s in INTAKE_STAGES],
        default=JourneyStage.BOOKING,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["brand_id", "title", "pk"]

    def __str__(self) -> str:
        return self.title

    def current_version(self) -> QuestionnaireVersion | None:
        """The newest published version (what patients answer now)."""
        return self.versions.filter(published_at__isnull=False).order_by("-number").first()

    def draft_version(self) -> QuestionnaireVersion | None:
        return self.versions.filter(published_at__isnull=True).first()


class QuestionnaireVersion(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    questions = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["questionnaire_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "number"], name="intake_version_number_unique"
            ),
            models.UniqueConstraint(
                fields=["questionnaire"],
                condition=Q(published_at__isnull=True),
                name="intake_one_draft_per_questionnaire",
            ),
        ]

    def __str__(self) -> str:
        return f"questionnaire #{self.questionnaire_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Published versions are immutable: responses refer to them.
        if self.pk is not None:
            stored = QuestionnaireVersion.objects.filter(pk=self.pk).values("published_at").first()
            if stored and stored["published_at"] is not None:
                raise ValidationError(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ResponseStatus(models.TextChoices):
    DRAFT = "draft", _("Started")
    SUBMITTED = "submitted", _("Submitted")


class IntakeResponse(models.Model):
    """A patient's answers to one questionnaire (one response per patient and
    questionnaire). ``answers_encrypted`` holds the JSON answers, encrypted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="intake_responses"
    )
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="responses"
    )
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="responses"
    )
    answers_encrypted = models.TextField()
    status = models.CharField(
        max_length=20, choices=ResponseStatus.choices, default=ResponseStatus.DRAFT
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "questionnaire"], name="intake_one_response_per_patient"
            )
        ]
        indexes = [models.Index(fields=["user", "brand", "status"])]

    def __str__(self) -> str:
        return f"intake response #{self.pk}"

    @property
    def is_submitted(self) -> bool:
        return self.status == ResponseStatus.SUBMITTED
