"""Packages of sessions in the Django admin, read-only: offers are set up on the
organization portal's Packages page; purchases and their uses change only through the
patient's checkout, bookings and refunds (``payments/packages.py``)."""

from __future__ import annotations

from django.contrib import admin

from caredoor.core.compliance.admin import ReadOnlyAdmin
from caredoor.core.payments.models import PackageOffer, PackagePurchase, PackageUse


@admin.register(PackageOffer)
class PackageOfferAdmin(ReadOnlyAdmin):
    """Read-only: offers are made and changed on the organization portal's Packages page
    (``payments/package_offers.py``), which keeps a sold offer's terms and audits each
    write."""

    list_display = ("name", "brand", "profile", "sessions", "price_minor", "currency", "is_active")
    list_filter = ("brand", "is_active")


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
