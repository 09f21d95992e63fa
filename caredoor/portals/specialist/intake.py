"""A patient's intake answers for their specialist: ``/specialist/intake/<relationship_id>/``.

Only the specialist of an active care relationship reads them (404 for anyone else, for an
ended relationship and for another specialist's relationship); every read is audited by
``answers_for_specialist``. The patient record links here (URL name
``specialist:intake_answers``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.care.queries import access_specialist_relationship
from caredoor.core.intake.queries import answers_for_specialist
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist.booking_support import profile_or_404


@require_GET
@portal_view(Portal.SPECIALIST)
def intake_answers(request: HttpRequest, ctx: PortalContext, relationship_id: int) -> HttpResponse:
    profile = profile_or_404(request, ctx)
    rel = access_specialist_relationship(profile, relationship_id)  # 404 unless theirs
    answered = answers_for_specialist(
        profile, rel.brand, rel.patient, reader=request.user, request=request
    )  # 404 unless the relationship is active
    response = render(
        request,
        "specialist/intake/answers.html",
        {"ctx": ctx, "rel": rel, "answered": answered},
    )
    response["Cache-Control"] = "private, no-store"
    return response
