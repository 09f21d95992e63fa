from django.contrib import admin

from caredoor.core.organizations.models import Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "network")
    list_filter = ("kind", "network")
    filter_horizontal = ("brands",)
