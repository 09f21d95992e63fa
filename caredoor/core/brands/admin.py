from django.contrib import admin

from caredoor.core.brands.models import Brand, Domain, Network


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "network", "journey_mode", "visibility", "is_active")
    inlines = [DomainInline]


admin.site.register(Network)
