from django.contrib import admin

from caredoor.core.compliance.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through actions (atomic and audited): the admin shows
    them and changes nothing. Every app's admin of such rows uses this one."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "created_at",
        "action",
        "actor_label",
        "actor_role",
        "target_label",
        "brand",
    )
    list_filter = ("action",)
    search_fields = ("actor_label", "target_label", "action")
