"""Feedback in the Django admin: settings editable; responses listed without their comment
(the comment is encrypted and read only through the audited organization page)."""

from __future__ import annotations

from django.contrib import admin

from caredoor.core.feedback.models import FeedbackResponse, FeedbackSettings


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "brand",
        "ask_satisfaction",
        "ask_progress",
        "ask_nps",
        "allow_comment",
        "cadence",
        "every_nth",
        "min_group_size",
    )


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(admin.ModelAdmin):
    list_display = ("pk", "brand", "profile", "skipped", "session_start", "created_at")
    list_filter = ("brand", "skipped")
    fields = ("booking", "brand", "profile", "skipped", "session_start", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
