"""Packages of sessions in the Django admin: the operator sets up offers here (each save is
audited); purchases and their uses are read-only (they change only through the patient's
checkout, bookings and refunds: ``payments/packages.py``)."""

from __future__ import annotations

from django.contrib import admin

from caredoor.core.compliance import audit
from caredoor.core.compliance.admin import ReadOnlyAdmin
from caredoor.core.payments.models import PackageOffer, PackagePurchase, PackageUse


@admin.register(PackageOffer)
class PackageOfferAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "profile", "sessions", "price_minor", "currency", "is_active")
    list_filter = ("brand", "is_active")
    fields = (
        "brand",
        "profile",
        "name",
        "sessions",
        "price_minor",
        "currency",
        "valid_days",
        "is_active",
    )
    raw_id_fields = ("profile",)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # end an offer by making it inactive: purchases refer to it

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        audit.record(
            "package_offer.changed" if change else "package_offer.created",
            actor=request.user,
            role="staff",
            target=obj,
            brand=obj.brand,
            request=request,
            data={"fields": sorted(form.changed_data)},
        )


@admin.register(PackagePurchase)
class PackagePurchaseAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "brand",
        "profile",
        "sessions_total",
        "status",
        "expires_at",
        "created_at",
    )
    list_filter = ("brand", "status")


@admin.register(PackageUse)
class PackageUseAdmin(ReadOnlyAdmin):
    list_display = ("pk", "purchase", "booking", "created_at", "returned_at")
