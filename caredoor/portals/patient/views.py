from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from caredoor.core.accounts.policy import PORTAL_PATHS, Portal, portal_of_role
from caredoor.core.accounts.queries import memberships_on_brand, portal_memberships
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view


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
    return render(request, "patient/dashboard.html", {"ctx": ctx})


account_view = portal_view(Portal.PATIENT)(account.profile)
