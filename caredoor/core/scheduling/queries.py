"""Scoped reads of a specialist's own schedule. Forbidden and missing both raise Http404."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.specialists.actions import specialist_sets_price
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing, SpecialistProfile


def zone_of(profile: SpecialistProfile) -> str:
    """The zone the specialist's hours are read in: the same fallback as the slot engine's
    (``availability.query_for``), so what the pages show is what patients can book."""
    return profile.time_zone or "UTC"


# --- session types ------------------------------------------------------------------------


def session_types_of(profile: SpecialistProfile) -> QuerySet[SessionType]:
    return (
        SessionType.objects.filter(profile=profile)
        .select_related("brand")
        .order_by("-is_active", "name", "pk")
    )


def access_own_session_type(profile: SpecialistProfile, session_type_id: int) -> SessionType:
    try:
        return SessionType.objects.select_related("brand").get(pk=session_type_id, profile=profile)
    except SessionType.DoesNotExist:
        raise Http404 from None


def listed_brands(profile: SpecialistProfile) -> QuerySet[Brand]:
    """The brands a session type may be limited to: where the specialist is listed or has
    asked to be (a withdrawn listing does not count)."""
    brand_ids = (
        Listing.objects.filter(profile=profile)
        .exclude(status=ListingStatus.REMOVED)
        .values("brand_id")
    )
    return Brand.objects.filter(
        pk__in=brand_ids, network_id=profile.network_id, is_active=True
    ).order_by("name", "pk")


@dataclass(frozen=True)
class PriceScope:
    """Where a session type's own price applies, and in which currency."""

    own_price_brands: list[Brand]  # the brands where the specialist sets the price
    other_brands: list[Brand]  # the brands whose listing price applies instead
    currency: str | None  # None: no own price possible (none of the brands, or mixed currencies)

    @property
    def allows_price(self) -> bool:
        return bool(self.own_price_brands) and self.currency is not None

    @property
    def mixed_currencies(self) -> bool:
        return len({b.currency for b in self.own_price_brands}) > 1


def price_scope(profile: SpecialistProfile, brand: Brand | None) -> PriceScope:
    """A session type limited to ``brand`` (or offered on every listed brand, ``None``)."""
    brands = [brand] if brand is not None else list(listed_brands(profile))
    own = [b for b in brands if specialist_sets_price(profile, b)]
    others = [b for b in brands if b not in own]
    currencies = {b.currency for b in own}
    return PriceScope(own, others, currencies.pop() if len(currencies) == 1 else None)


# --- availability -------------------------------------------------------------------------


def rules_of(profile: SpecialistProfile) -> QuerySet[AvailabilityRule]:
    return (
        AvailabilityRule.objects.filter(profile=profile)
        .select_related("session_type")
        .order_by("weekday", "start_time", "pk")
    )


def access_own_rule(profile: SpecialistProfile, rule_id: int) -> AvailabilityRule:
    try:
        return AvailabilityRule.objects.get(pk=rule_id, profile=profile)
    except AvailabilityRule.DoesNotExist:
        raise Http404 from None


def overrides_of(profile: SpecialistProfile) -> QuerySet[DateOverride]:
    return DateOverride.objects.filter(profile=profile).order_by("day")


def access_own_override(profile: SpecialistProfile, override_id: int) -> DateOverride:
    try:
        return DateOverride.objects.get(pk=override_id, profile=profile)
    except DateOverride.DoesNotExist:
        raise Http404 from None
