"""The specialist's consent requirements, and helpers other specialist pages include.

``/specialist/consents/``: per brand the specialist is listed on (or asked to be), choose
which of the brand's documents patients must sign before the specialist's sessions.
Documents with a stage are asked of every patient of the brand anyway; documents marked
"only when a specialist requires it" (e.g. a recording consent) are asked only of the
patients of specialists who tick them.

For other pages:
- ``session_status(booking)``: whether a booking's session can start, and what is missing;
  render it with ``{% include "specialist/consents/_session_status.html" %}`` and the
  context variable ``consent_session``.
- ``patient_status(patient, brand, profile)``: ``core.consents.queries.consent_status``
  for one patient of the specialist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.models import Brand
from caredoor.core.consents import queries
from caredoor.core.consents.actions import do_set_requirements
from caredoor.core.consents.gate import session_blockers
from caredoor.core.consents.models import ON_REQUEST, ConsentVersion
from caredoor.core.specialists.queries import own_profile
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist.booking_support import policy_brands

PORTAL = Portal.SPECIALIST


@dataclass(frozen=True)
class SessionConsentStatus:
    blockers: list[ConsentVersion]

    @property
    def can_start(self) -> bool:
        return not self.blockers


def session_status(booking: Any) -> SessionConsentStatus:
    return SessionConsentStatus(blockers=session_blockers(booking))


def patient_status(patient: Any, brand: Brand, profile: Any) -> list[queries.StatusRow]:
    return queries.consent_status(patient, brand, profile=profile)


@portal_view(PORTAL)
@require_http_methods(["GET", "POST"])
def requirements(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = own_profile(request.user, ctx.membership.network_id)
    brands = policy_brands(profile) if profile else []
    if request.method == "POST" and profile is not None:
        chosen = request.POST.get("brand", "")
        brand = next((b for b in brands if str(b.pk) == chosen), None)
        if brand is None:
            messages.error(request, _("Choose one of your services."))
            return redirect("specialist:consents")
        ids = {int(v) for v in request.POST.getlist("documents") if v.isdigit()}
        docs = list(queries.documents_for(brand).filter(pk__in=ids))
        try:
            do_set_requirements(profile, brand, docs, actor=request.user, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _(
                    "Saved. Your patients on %(brand)s are asked to sign these documents "
                    "before your sessions; a session cannot start until they have."
                )
                % {"brand": brand.name},
            )
        return redirect("specialist:consents")
    sections = []
    for brand in brands:
        required = set(queries.specialist_requirements(profile, brand).values_list("pk", flat=True))
        docs = [
            {
                "document": d,
                "current": queries.current_version(d),
                "required": d.pk in required,
                "everyone": d.stage != ON_REQUEST,
            }
            for d in queries.documents_for(brand)
        ]
        sections.append({"brand": brand, "docs": [x for x in docs if x["current"] is not None]})
    return render(
        request,
        "specialist/consents/requirements.html",
        {"ctx": ctx, "profile": profile, "sections": sections},
    )
