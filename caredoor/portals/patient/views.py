from __future__ import annotations

from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from caredoor.core.accounts.policy import PORTAL_PATHS, Portal, portal_of_role
from caredoor.core.accounts.queries import memberships_on_brand, portal_memberships
from caredoor.core.booking.access import patient_bookings
from caredoor.core.booking.models import BookingStatus
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient.booking_display import specialist_name, viewer_zone_name, when


def home(request: HttpRequest) -> HttpResponse:
    """The brand's front door: a landing page for visitors, the care home for patients."""
    if getattr(request, "brand", None) is None:
        return redirect("organization:dashboard")  # platform host: the operator console
    if portal_memberships(request.user, request.brand, Portal.PATIENT):  # type: ignore[attr-defined]
        return dashboard(request)
    # Visitors, and signed-in people without a patient role here, see the brand's front page
    # with a way into their own portal.
    portals = {portal_of_role(m.role) for m in memberships_on_brand(request.user, request.brand)}  # type: ignore[attr-defined]
    my_portals = [(Portal(p).label, PORTAL_PATHS[p]) for p in Portal.values if p in portals]
    return render(request, "patient/landing.html", {"my_portals": my_portals})


UPCOMING_SHOWN = 3


@portal_view(Portal.PATIENT)
def dashboard(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """The care home: what comes next (sessions, proposals to answer) and where to go."""
    now = timezone.now()
    mine = patient_bookings(request.user, ctx.brand)
    zone_name = viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    next_ones = (
        mine.select_related("profile__published")
        .filter(status=BookingStatus.CONFIRMED, end__gt=now)
        .order_by("start")[:UPCOMING_SHOWN]
    )
    upcoming = [
        {"booking": b, "when": when(b.start, zone, now=now), "specialist": specialist_name(b)}
        for b in next_ones
    ]
    to_answer = mine.filter(status=BookingStatus.PROPOSED, expires_at__gt=now).count()
    return render(
        request,
        "patient/dashboard.html",
        {"ctx": ctx, "upcoming": upcoming, "to_answer": to_answer, "zone_name": zone_name},
    )


account_view = portal_view(Portal.PATIENT)(account.profile)
