"""Feedback in the Django admin, read-only: settings change through the organization
page's audited action; responses are listed without their comment (the comment is
encrypted and read only through the audited organization page)."""

from __future__ import annotations

from django.contrib import admin

from caredoor.core.compliance.admin import ReadOnlyAdmin
from caredoor.core.feedback.actions import SETTINGS_FIELDS
from caredoor.core.feedback.models import FeedbackResponse, FeedbackSettings


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(ReadOnlyAdmin):
    list_display = ("brand", *SETTINGS_FIELDS)


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(ReadOnlyAdmin):
    list_display = ("pk", "brand", "profile", "skipped", "session_start", "created_at")
    list_filter = ("brand", "skipped")
    fields = ("booking", "brand", "profile", "skipped", "session_start", "created_at")
    readonly_fields = fields
