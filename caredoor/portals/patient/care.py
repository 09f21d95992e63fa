"""My specialists: the patient's care relationships on this brand.

Relationships come only through ``core.care.queries`` (the patient's own, on this brand:
another brand's never show, even for the same person). The specialist's private notes are
never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.care_facts import with_facts
from caredoor.core.brands.choices import JourneyMode
from caredoor.core.care.models import CareRelationship, Source
from caredoor.core.care.queries import patient_relationships
from caredoor.core.specialists.queries import public_profiles_on
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient.booking import zone_form

PORTAL = Portal.PATIENT

# How the patient reads where a relationship came from.
SOURCE_WORDS = {
    Source.DIRECTORY: _("You chose them in the directory"),
    Source.MATCHING: _("Matched with you"),
    Source.ASSISTED: _("Arranged for you by our team"),
    Source.PROGRAM: _("Through your program"),
    Source.REFERRAL: _("You were referred to them"),
}


@dataclass
class CareRow:
    rel: CareRelationship
    specialist: str
    since: str
    source: str
    next: str
    book_url: str
    switch_url: str


def switch_url(rel: CareRelationship) -> str:
    """The "switch specialist" page of guided matching, with this relationship chosen."""
    return f"{reverse('patient:match_switch')}?{urlencode({'relationship': rel.pk})}"


def _row(
    rel: CareRelationship, zone: ZoneInfo, now: datetime, bookable: set[int], matching: bool
) -> CareRow:
    next_start = getattr(rel, "next_start", None)
    active = rel.ended_at is None
    return CareRow(
        rel=rel,
        specialist=show.specialist_name(rel),
        since=date_format(rel.created_at.astimezone(zone).date(), "DATE_FORMAT"),
        source=str(SOURCE_WORDS.get(rel.source, rel.get_source_display())),
        next=show.when(next_start, zone, now=now) if next_start else "",
        book_url=(
            reverse("patient:book", args=[rel.profile_id])
            if active and rel.profile_id in bookable
            else ""
        ),
        switch_url=switch_url(rel) if active and matching else "",
    )


@require_GET
@portal_view(PORTAL)
def my_specialists(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand = ctx.brand
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    now = timezone.now()
    rels = list(with_facts(patient_relationships(request.user, brand)))  # type: ignore[arg-type]
    bookable = set(
        public_profiles_on(brand)  # type: ignore[arg-type]
        .filter(profile_id__in=[r.profile_id for r in rels])
        .values_list("profile_id", flat=True)
    )
    matching = brand.journey_mode == JourneyMode.MATCHING  # type: ignore[union-attr]
    rows = [_row(r, zone, now, bookable, matching) for r in rels]
    return render(
        request,
        "patient/care/list.html",
        {
            "ctx": ctx,
            "current": [r for r in rows if r.rel.ended_at is None],
            "earlier": [r for r in rows if r.rel.ended_at is not None],
            "zone_label": show.zone_label(zone_name, now),
            "zone_form": zone_form(request, zone_name),
        },
    )
