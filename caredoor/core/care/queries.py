"""Scoped reads of care relationships: the patient's own, the specialist's own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareNote, CareRelationship
from caredoor.core.specialists.models import SpecialistProfile


def patient_relationships(patient: Any, brand: Brand) -> QuerySet[CareRelationship]:
    """The patient's relationships on this brand only (another brand's never show)."""
    return CareRelationship.objects.filter(patient=patient, brand=brand).select_related(
        "profile", "profile__published"
    )


def active_relationship(brand: Brand, patient: Any, profile_id: int) -> CareRelationship | None:
    return CareRelationship.objects.filter(
        brand=brand, patient=patient, profile_id=profile_id, ended_at__isnull=True
    ).first()


def specialist_relationships(
    profile: SpecialistProfile, brand: Brand | None = None
) -> QuerySet[CareRelationship]:
    qs = CareRelationship.objects.filter(profile=profile).select_related("brand", "patient")
    return qs.filter(brand=brand) if brand is not None else qs


def access_specialist_relationship(profile: SpecialistProfile, rel_id: int) -> CareRelationship:
    try:
        return specialist_relationships(profile).get(pk=rel_id)
    except CareRelationship.DoesNotExist:
        raise Http404 from None


def access_patient_relationship(patient: Any, brand: Brand, rel_id: int) -> CareRelationship:
    try:
        return patient_relationships(patient, brand).get(pk=rel_id)
    except CareRelationship.DoesNotExist:
        raise Http404 from None


def access_own_note(rel: CareRelationship, author: Any, note_id: int) -> CareNote:
    try:
        return rel.notes.get(pk=note_id, author=author)
    except CareNote.DoesNotExist:
        raise Http404 from None


def is_allocated(profile: SpecialistProfile, brand: Brand, patient: Any) -> bool:
    """Whether the specialist has an active relationship with the patient on the brand."""
    return CareRelationship.objects.filter(
        profile=profile, brand=brand, patient=patient, ended_at__isnull=True
    ).exists()
