"""Scoped reads of matching and assisted scheduling; ``access_*`` raise Http404 for missing
and forbidden alike.

``candidates`` turns the specialists publicly listed on a brand into the plain facts the
ranking rules take (``ranking.Candidate``): published languages, specializations and
formats, whether they accept new patients, their active care relationships (on every
brand of the network: capacity is the specialist's whole practice) and their first free
slot (``search.first_free_times``, as the directory shows it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareRelationship
from caredoor.core.matching.models import (
    AssistanceRequest,
    AssistanceStatus,
    MatchingSettings,
    MatchRequest,
)
from caredoor.core.matching.ranking import Candidate, Rules
from caredoor.core.matching.search import first_free_times
from caredoor.core.specialists.choices import TermKind
from caredoor.core.specialists.models import PublishedProfile, Term
from caredoor.core.specialists.queries import public_profiles_on, terms_for

ALLOCATING_ROLES = frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF})
BOOKED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
WAITING_STATUSES = (BookingStatus.PROPOSED, BookingStatus.PENDING_PAYMENT)


# --- settings -----------------------------------------------------------------------------


def settings_for(brand: Brand) -> MatchingSettings:
    """The brand's matching settings; the defaults (unsaved) when it has none."""
    found = MatchingSettings.objects.filter(brand=brand).first()
    return found if found is not None else MatchingSettings(brand=brand)


def rules_of(settings: MatchingSettings) -> Rules:
    return Rules(
        weight_fit=settings.weight_fit,
        weight_soon=settings.weight_soon,
        weight_capacity=settings.weight_capacity,
        max_active_patients=settings.max_active_patients,
    )


# --- the questionnaire's choices ---------------------------------------------------------------


def specialization_choices(brand: Brand) -> QuerySet[Term]:
    """The network's specializations (the vocabulary specialists choose from)."""
    return terms_for(brand.network_id, TermKind.SPECIALIZATION)


# --- candidates ----------------------------------------------------------------------------


def _prefs(published: PublishedProfile) -> dict[str, Any]:
    prefs = (published.data or {}).get("practice_preferences") or {}
    return prefs if isinstance(prefs, dict) else {}


def active_patient_counts(profile_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        CareRelationship.objects.filter(profile_id__in=list(profile_ids), ended_at__isnull=True)
        .order_by()
        .values_list("profile_id")
        .annotate(n=Count("pk"))
        .values_list("profile_id", "n")
    )


def candidates(
    brand: Brand, *, now: datetime, days: int, direct_only: bool = True
) -> list[Candidate]:
    """Every specialist publicly listed on ``brand``, as the ranking rules see them."""
    published = list(public_profiles_on(brand))
    ids = [p.profile_id for p in published]
    counts = active_patient_counts(ids)
    free = first_free_times(brand, ids, now=now, days=days, direct_only=direct_only)
    result = []
    for p in published:
        prefs = _prefs(p)
        langs = (p.data or {}).get("languages") or []
        formats = prefs.get("session_formats") or []
        accepts = prefs.get("accepts_new_patients")
        result.append(
            Candidate(
                profile_id=p.profile_id,
                languages=frozenset(c for c in langs if isinstance(c, str)),
                specializations=frozenset(t.pk for t in p.specializations.all()),
                formats=frozenset(f for f in formats if isinstance(f, str)),
                accepts_new_patients=accepts if isinstance(accepts, bool) else None,
                active_patients=counts.get(p.profile_id, 0),
                first_free=free[p.profile_id].slot.start if p.profile_id in free else None,
            )
        )
    return result


def listed_profiles(brand: Brand, profile_ids: Iterable[int]) -> dict[int, PublishedProfile]:
    """The published profiles among ``profile_ids`` still listed on ``brand``."""
    return {p.profile_id: p for p in public_profiles_on(brand).filter(profile_id__in=profile_ids)}


# --- match requests (the patient's own) --------------------------------------------------------


def patient_matches(user: Any, brand: Brand) -> QuerySet[MatchRequest]:
    return MatchRequest.objects.filter(user=user, brand=brand)


def access_patient_match(user: Any, brand: Brand, match_id: int) -> MatchRequest:
    try:
        return patient_matches(user, brand).get(pk=match_id)
    except MatchRequest.DoesNotExist:
        raise Http404 from None


def current_relationships(user: Any, brand: Brand) -> QuerySet[CareRelationship]:
    return CareRelationship.objects.filter(
        patient=user, brand=brand, ended_at__isnull=True
    ).select_related("profile", "profile__published")


# --- assistance requests -----------------------------------------------------------------------


def patient_assistance(user: Any, brand: Brand) -> QuerySet[AssistanceRequest]:
    return AssistanceRequest.objects.filter(user=user, brand=brand).select_related(
        "profile", "profile__published"
    )


def access_patient_assistance(user: Any, brand: Brand, request_id: int) -> AssistanceRequest:
    try:
        return patient_assistance(user, brand).get(pk=request_id)
    except AssistanceRequest.DoesNotExist:
        raise Http404 from None


def brands_served_by(actor: Membership) -> QuerySet[Brand]:
    """The brands whose assistance queue ``actor`` works: the operator every brand of the
    network, a client organization's admins and staff the brands it is bound to."""
    if actor.role not in ALLOCATING_ROLES or actor.network_id is None:
        return Brand.objects.none()
    qs = Brand.objects.filter(network_id=actor.network_id)
    if actor.role == Role.OPERATOR:
        return qs.order_by("name", "pk")
    if actor.organization_id is None:
        return Brand.objects.none()
    return qs.filter(organizations=actor.organization_id).order_by("name", "pk")


def assistance_queue(actor: Membership) -> QuerySet[AssistanceRequest]:
    """Every assistance request on the brands ``actor`` serves (oldest first)."""
    return AssistanceRequest.objects.filter(brand__in=brands_served_by(actor)).select_related(
        "brand", "user", "profile", "profile__published", "allocated_by"
    )


def access_staff_assistance(actor: Membership, request_id: int) -> AssistanceRequest:
    try:
        return assistance_queue(actor).get(pk=request_id)
    except AssistanceRequest.DoesNotExist:
        raise Http404 from None


def statuses(requests: Iterable[AssistanceRequest]) -> dict[int, str]:
    """Each request's status: open and closed as stored; an allocated request is "booked"
    once the pair has a confirmed (or held) session made after the allocation, "proposed"
    while a proposal waits for the patient's answer, else "allocated". Two queries."""
    rows = list(requests)
    result = {r.pk: r.status for r in rows}
    allocated = [r for r in rows if r.status == AssistanceStatus.ALLOCATED and r.profile_id]
    if not allocated:
        return result
    pairs = Q()
    for r in allocated:
        pairs |= Q(brand_id=r.brand_id, patient_id=r.user_id, profile_id=r.profile_id)
    seen: dict[tuple[int, int, int], list[tuple[str, datetime]]] = defaultdict(list)
    for brand_id, patient_id, profile_id, status, created in (
        Booking.objects.filter(pairs)
        .filter(status__in=(*BOOKED_STATUSES, *WAITING_STATUSES))
        .values_list("brand_id", "patient_id", "profile_id", "status", "created_at")
    ):
        seen[brand_id, patient_id, profile_id].append((status, created))
    for r in allocated:
        since = r.allocated_at or r.created_at
        found = [s for s, at in seen.get((r.brand_id, r.user_id, r.profile_id), []) if at >= since]
        if any(s in BOOKED_STATUSES for s in found):
            result[r.pk] = AssistanceStatus.BOOKED
        elif found:
            result[r.pk] = AssistanceStatus.PROPOSED
    return result


def assistance_status(request: AssistanceRequest) -> str:
    return statuses([request])[request.pk]
