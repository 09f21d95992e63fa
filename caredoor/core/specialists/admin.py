from django.contrib import admin

from caredoor.core.specialists.models import (
    Listing,
    OnboardingScheme,
    SpecialistProfile,
    Term,
)


@admin.register(SpecialistProfile)
class SpecialistProfileAdmin(admin.ModelAdmin):
    list_display = ("__str__", "network", "status", "onboarded_by", "relationship")
    list_filter = ("status", "network")
    search_fields = ("display_name", "user__email")
    readonly_fields = ("photo",)


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("profile", "brand", "status", "price_minor")
    list_filter = ("status", "brand")


admin.site.register(Term)
admin.site.register(OnboardingScheme)
