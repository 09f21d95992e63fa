"""An ad-hoc video call from the patient's side: the page the "... is calling you"
notification leads to (docs/video.md, "Ad-hoc calls").

Only the call's patient, on the call's brand, where the brand allows calls, reaches it
(404 otherwise, and for a booked session's room, which is joined from the session).
What the session needs first (consents, intake) is asked for through the journey gate,
as for a booked session; an ended or expired call says so.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.specialists.queries import public_name
from caredoor.core.video import rules
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.video_room import render_room
from caredoor.portals.patient import journey

PORTAL = Portal.PATIENT


@require_GET
@portal_view(PORTAL)
def adhoc_call(request: HttpRequest, ctx: PortalContext, room_name: str) -> HttpResponse:
    brand = ctx.brand
    if brand is None:
        raise Http404
    entry = rules.room_entry(request.user, brand, PORTAL, room_name)
    room = entry.room
    if entry.booking is not None or room is None:
        raise Http404  # a booked session is joined from the session
    context = {"ctx": ctx, "room": room, "specialist": public_name(room.profile)}
    try:
        rules.check_join(entry, timezone.now())
    except rules.JoinRefused as refused:
        if refused.code != "consents":
            return render(request, "patient/video_call.html", context)
        here = reverse("patient:adhoc_call", args=[room.name])
        gated = journey.gate(
            request, brand, JourneyStage.SESSION, next_url=here, profile=room.profile
        )
        if gated is not None:
            return gated
        query = urlencode({"stage": "session", "profile": room.profile_id, "next": here})
        return redirect(f"{reverse('patient:consents_sign')}?{query}")
    return render_room(
        request,
        ctx,
        entry,
        portal=PORTAL,
        back_url=reverse("patient:dashboard"),
        back_label=_("Back to your home page"),
    )


urlpatterns = [
    path("calls/<str:room_name>/", adhoc_call, name="adhoc_call"),
]
