"""Specialists for directory tests: listed through the real actions, then their published
snapshot given the languages and terms a test needs."""

from __future__ import annotations

from datetime import time

from django.utils.text import slugify

from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.core.specialists.choices import TermKind
from caredoor.core.specialists.models import SpecialistProfile
from tests import factories
from tests.specialist_helpers import approved_and_listed, terms


def listed_specialist(  # type: ignore[no-untyped-def]
    side,
    name: str,
    *,
    brands=None,
    languages=("en",),
    specializations=(),
    categories=(),
    price: int = 9000,
    hours: tuple[time, time] | None = (time(9), time(17)),
    direct_booking: bool = True,
) -> SpecialistProfile:
    """A new specialist of ``side``'s network, approved and listed on ``brands`` (default:
    the side's brand), with one session type and, unless ``hours`` is None, daily hours
    (Berlin time)."""
    user = factories.make_user(f"{slugify(name)}@{side.network.slug}.example.test")
    factories.grant(
        user, "specialist", network=side.network, brand=side.brand, organization=side.clinic
    )
    profile, _ = approved_and_listed(side, user, brands or [side.brand], name=name, price=price)
    published = profile.published
    published.data = {**published.data, "languages": list(languages)}
    published.save()
    published.specializations.set(terms(side.network, TermKind.SPECIALIZATION, *specializations))
    published.categories.set(terms(side.network, TermKind.CATEGORY, *categories))
    SessionType.objects.create(
        profile=profile,
        name="Session",
        duration_minutes=50,
        min_notice_minutes=60,
        horizon_days=60,
        slot_step_minutes=30,
        direct_booking=direct_booking,
    )
    if hours is not None:
        for weekday in range(7):
            AvailabilityRule.objects.create(
                profile=profile, weekday=weekday, start_time=hours[0], end_time=hours[1]
            )
    return profile
