from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view


def home(request: HttpRequest) -> HttpResponse:
    """The brand's front door: a landing page for visitors, the care home for patients."""
    if getattr(request, "brand", None) is None:
        return redirect("organization:dashboard")  # platform host: the operator console
    if request.user.is_authenticated:
        return dashboard(request)
    return render(request, "patient/landing.html")


@portal_view(Portal.PATIENT)
def dashboard(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return render(request, "patient/dashboard.html", {"ctx": ctx})


account_view = portal_view(Portal.PATIENT)(account.profile)
