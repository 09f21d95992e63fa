"""Scoped reads of care relationships: the patient's own, the specialist's own, and the
organization's view (names for operator and clinic staff, counts for everyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.apps import apps
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone

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


# --- lists with their facts (the specialist's patient list, the organization's view) ------
#
# Bookings and availability requests sit above care in the layer order. These reads reach
# them by model name (``apps.get_model``), never by import, so the import graph stays
# acyclic; the status values are the booking app's (``BookingStatus``, ``RequestStatus``).

HELD = ("completed",)
UPCOMING = ("confirmed", "pending_payment")
OPEN_REQUEST = "requested"


def _pair_bookings() -> QuerySet[Any]:
    booking = apps.get_model("booking", "Booking")
    return booking.objects.filter(
        profile_id=OuterRef("profile_id"),
        patient_id=OuterRef("patient_id"),
        brand_id=OuterRef("brand_id"),
    ).order_by()


def _count(qs: QuerySet[Any]) -> Subquery:
    return Subquery(
        qs.values("profile_id").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def with_facts(qs: QuerySet[CareRelationship], *, now: datetime | None = None) -> QuerySet:
    """Annotate each relationship with its sessions and open requests, in one query.

    ``completed`` (sessions held), ``sessions`` (every booking of the pair on the brand
    except lapsed proposals), ``next_start`` (the next confirmed or pending-payment session),
    ``last_start`` (the latest held session: completed, or confirmed and already over),
    ``open_requests`` (availability requests waiting for the specialist) and
    ``booking_zone`` (the patient's zone on their latest booking, when their account has
    none).
    """
    now = now or timezone.now()
    bookings = _pair_bookings()
    request_model = apps.get_model("booking", "AvailabilityRequest")
    requests = request_model.objects.filter(
        profile_id=OuterRef("profile_id"),
        patient_id=OuterRef("patient_id"),
        brand_id=OuterRef("brand_id"),
        status=OPEN_REQUEST,
        respond_by__gt=now,
    ).order_by()
    held = bookings.filter(Q(status__in=HELD) | Q(status="confirmed", end__lte=now))
    return qs.annotate(
        completed=Coalesce(_count(bookings.filter(status__in=HELD)), 0),
        sessions=Coalesce(
            _count(bookings.exclude(status__in=("proposed", "expired", "declined", "rescheduled"))),
            0,
        ),
        next_start=Subquery(
            bookings.filter(status__in=UPCOMING, end__gt=now).order_by("start").values("start")[:1]
        ),
        last_start=Subquery(held.order_by("-start").values("start")[:1]),
        open_requests=Coalesce(_count(requests), 0),
        booking_zone=Subquery(bookings.order_by("-created_at").values("patient_time_zone")[:1]),
    )


def relationship_rows(
    profile: SpecialistProfile, brand: Brand | None = None, *, search: str = ""
) -> QuerySet[CareRelationship]:
    """The specialist's relationships (on ``brand``, or on every brand of their network)
    with their facts (``with_facts``); ``search`` matches the patient's name or email."""
    qs = specialist_relationships(profile, brand)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(patient__name__icontains=search) | Q(patient__email__icontains=search))
    return with_facts(qs)


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
