"""Admin: settings editable; requests read-only and without their encrypted contents."""

from django.contrib import admin

from caredoor.core.matching.models import AssistanceRequest, MatchingSettings, MatchRequest


@admin.register(MatchingSettings)
class MatchingSettingsAdmin(admin.ModelAdmin):
    list_display = ("brand", "shortlist_size", "direct_allocation", "soon_days")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(MatchRequest)
class MatchRequestAdmin(ReadOnly):
    list_display = ("pk", "brand", "user", "created_at", "chosen_profile")
    exclude = ("answers_encrypted", "reasons_encrypted")


@admin.register(AssistanceRequest)
class AssistanceRequestAdmin(ReadOnly):
    list_display = ("pk", "brand", "user", "status", "profile", "created_at")
    list_filter = ("status",)
    exclude = ("needs_encrypted", "note_encrypted")
