from django.contrib import admin

from caredoor.core.compliance.admin import ReadOnlyAdmin
from caredoor.core.consents.models import (
    ConsentDocument,
    ConsentSignature,
    ConsentVersion,
    SpecialistConsentRequirement,
)


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ReadOnlyAdmin):
    list_display = ("title", "kind", "stage", "brand", "organization", "is_active")
    list_filter = ("kind", "stage", "is_active")


@admin.register(ConsentVersion)
class ConsentVersionAdmin(ReadOnlyAdmin):
    list_display = ("document", "number", "published_at")


@admin.register(ConsentSignature)
class ConsentSignatureAdmin(ReadOnlyAdmin):
    list_display = ("user", "version", "brand", "signed_at", "ip", "withdrawn_at")
    raw_id_fields = ("user",)


@admin.register(SpecialistConsentRequirement)
class SpecialistConsentRequirementAdmin(ReadOnlyAdmin):
    list_display = ("profile", "document", "created_at")
