from __future__ import annotations

from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from caredoor.core.accounts.policy import PORTAL_PATHS, Portal, portal_of_role
from caredoor.core.accounts.queries import memberships_on_brand, portal_memberships
from caredoor.core.booking.access import patient_bookings
from caredoor.core.messaging.queries import unread_total
from caredoor.core.notifications.queries import unread_count
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import home as care_home
from caredoor.portals.patient.booking_display import viewer_zone_name


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


@portal_view(Portal.PATIENT)
def dashboard(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """The care home: what comes next (see ``home.py``), upcoming sessions, unread messages
    and notifications."""
    brand = ctx.brand
    assert brand is not None
    now = timezone.now()
    zone_name = viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    steps = care_home.next_steps(request, brand, now, zone)
    return render(
        request,
        "patient/dashboard.html",
        {
            "ctx": ctx,
            "first_step": steps[0] if steps else None,
            "more_steps": steps[1:],
            "upcoming": care_home.upcoming_sessions(
                patient_bookings(request.user, brand), zone, now
            ),
            "unread": unread_count(request.user, brand, Portal.PATIENT),
            "unread_messages": unread_total(request.user, brand, Portal.PATIENT),
            "zone_name": zone_name,
            "find_url": care_home.find_url(brand),
        },
    )


account_view = portal_view(Portal.PATIENT)(account.profile)
