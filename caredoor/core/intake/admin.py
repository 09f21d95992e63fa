"""Admin: questionnaires and versions read-only; responses as metadata only (answers are
encrypted and never shown here; the allocated specialist reads them in their portal)."""

from __future__ import annotations

from django.contrib import admin

from caredoor.core.compliance.admin import ReadOnlyAdmin
from caredoor.core.intake.models import IntakeResponse, Questionnaire, QuestionnaireVersion


@admin.register(Questionnaire)
class QuestionnaireAdmin(ReadOnlyAdmin):
    list_display = ["title", "brand", "organization", "stage", "is_active", "created_at"]
    list_filter = ["stage", "is_active", "brand"]


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(ReadOnlyAdmin):
    list_display = ["questionnaire", "number", "published_at"]
    list_filter = ["questionnaire__brand"]


@admin.register(IntakeResponse)
class IntakeResponseAdmin(ReadOnlyAdmin):
    list_display = ["pk", "questionnaire", "brand", "status", "started_at", "submitted_at"]
    list_filter = ["status", "brand"]
    exclude = ["answers_encrypted"]
