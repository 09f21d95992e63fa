"""Admin: read-only (settings change through the organization page's audited action,
requests through the patients' and staff's actions); requests without their encrypted
contents."""

from django.contrib import admin

from caredoor.core.compliance.admin import ReadOnlyAdmin
from caredoor.core.matching.models import AssistanceRequest, MatchingSettings, MatchRequest


@admin.register(MatchingSettings)
class MatchingSettingsAdmin(ReadOnlyAdmin):
    list_display = ("brand", "shortlist_size", "direct_allocation", "soon_days")


@admin.register(MatchRequest)
class MatchRequestAdmin(ReadOnlyAdmin):
    list_display = ("pk", "brand", "user", "created_at", "chosen_profile")
    exclude = ("answers_encrypted", "reasons_encrypted")


@admin.register(AssistanceRequest)
class AssistanceRequestAdmin(ReadOnlyAdmin):
    list_display = ("pk", "brand", "user", "status", "profile", "created_at")
    list_filter = ("status",)
    exclude = ("needs_encrypted", "note_encrypted")
