"""Scoped reads of care relationships: the patient's own, the specialist's own, and the
organization's view (names for operator and clinic staff, counts for everyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404

from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareNote, CareRelationship
from caredoor.core.organizations.models import OrgKind
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


def relationship_brands(profile: SpecialistProfile) -> QuerySet[Brand]:
    """The brands where the specialist has (or had) relationships, for a brand filter."""
    return Brand.objects.filter(
        pk__in=CareRelationship.objects.filter(profile=profile).values("brand_id")
    ).order_by("name")


# --- organizations: operator and clinic staff see the relationships, employers counts -----


def brands_seen_by(membership: Any) -> QuerySet[Brand]:
    """The brands an organization role looks at: the operator every brand of its network,
    a client organization the brands it is bound to."""
    organization = getattr(membership, "organization", None)
    if organization is None:
        return Brand.objects.none()
    if organization.kind == OrgKind.OPERATOR:
        return Brand.objects.filter(network_id=organization.network_id).order_by("name")
    return organization.brands.filter(network_id=organization.network_id).order_by("name")


def sees_names(membership: Any) -> bool:
    """Operator and clinic staff see who is cared for by whom; an employer never does."""
    organization = getattr(membership, "organization", None)
    return organization is not None and organization.kind in (
        OrgKind.OPERATOR,
        OrgKind.CLINIC,
        OrgKind.CLINIC_NETWORK,
    )


def organization_relationships(
    membership: Any, brand: Brand | None = None
) -> QuerySet[CareRelationship]:
    """Relationships on the brands the organization serves, with names: only for roles
    that ``sees_names`` (an employer's members get nothing here)."""
    if not sees_names(membership):
        return CareRelationship.objects.none()
    qs = CareRelationship.objects.filter(brand__in=brands_seen_by(membership)).select_related(
        "brand", "patient", "profile", "profile__published"
    )
    return qs.filter(brand=brand) if brand is not None else qs


@dataclass(frozen=True)
class AllocationCount:
    brand_id: int
    month: date
    source: str
    started: int
    active: int


def allocation_counts(membership: Any, brand: Brand | None = None) -> list[AllocationCount]:
    """Relationships started per brand, month (UTC) and source, and how many of them are
    still active: aggregated, with no names, for every organization role."""
    qs = CareRelationship.objects.filter(brand__in=brands_seen_by(membership))
    if brand is not None:
        qs = qs.filter(brand=brand)
    rows = (
        qs.annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .order_by()
        .values("brand_id", "month", "source")
        .annotate(started=Count("pk"), active=Count("pk", filter=Q(ended_at__isnull=True)))
        .order_by("brand_id", "-month", "source")
    )
    return [
        AllocationCount(
            r["brand_id"],
            r["month"].date() if isinstance(r["month"], datetime) else r["month"],
            r["source"],
            r["started"],
            r["active"],
        )
        for r in rows
    ]
