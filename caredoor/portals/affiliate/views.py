from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.AFFILIATE


@portal_view(PORTAL)
def dashboard(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return render(request, "affiliate/dashboard.html", {"ctx": ctx})


account_view = portal_view(PORTAL)(account.profile)
