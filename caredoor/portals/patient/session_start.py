"""Joining a session: the patient's "ready to join" page, behind the session gate.

Only the booking's patient on this brand reaches it (404 otherwise), only for confirmed
bookings. Anything due before the session (consents, including the specialist's own
required documents, and intake) is asked for first through the journey gate, which comes
back here when done. The join window is ``core.booking.join``'s, the one the home page and
the session list use. Before the window the page says when it opens, after it that the
session has ended; inside it the page is the video room itself (``common/video_room.py``:
device check, waiting room, the call).
"""

from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.access import access_patient_booking
from caredoor.core.booking.join import is_joinable, join_window, lead_minutes
from caredoor.core.booking.models import BookingStatus
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.consents.gate import session_blockers
from caredoor.core.video.actions import room_for
from caredoor.core.video.models import Side
from caredoor.core.video.rules import Entry
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.video_room import render_room
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient import journey

PORTAL = Portal.PATIENT


@portal_view(PORTAL)
@require_GET
def session_join(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    booking = access_patient_booking(request.user, brand, booking_id)
    if booking.status != BookingStatus.CONFIRMED:
        raise Http404
    here = reverse("patient:session_join", args=[booking.pk])
    gated = journey.gate(
        request, brand, JourneyStage.SESSION, next_url=here, profile=booking.profile
    )
    if gated is not None:
        return gated
    if session_blockers(booking):  # the core rule, should the journey steps ever differ
        sign = reverse("patient:consents_sign")
        query = urlencode({"stage": "session", "profile": booking.profile_id, "next": here})
        return redirect(f"{sign}?{query}")
    now = timezone.now()
    opens, _closes = join_window(booking)
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    if now < opens:
        state = "early"
    elif is_joinable(booking, now):
        state = "open"
    else:
        state = "over"
    detail_url = reverse("patient:booking", args=[booking.pk])
    if state == "open":
        return render_room(
            request,
            ctx,
            Entry(booking, Side.PATIENT, room_for(booking)),
            portal=PORTAL,
            zone=zone_name,
            back_url=detail_url,
        )
    return render(
        request,
        "patient/session_join.html",
        {
            "ctx": ctx,
            "booking": booking,
            "state": state,
            "specialist": show.specialist_name(booking),
            "when": show.when(booking.start, zone, now=now),
            "end": show.clock(booking.end, zone),
            "opens": show.when(opens, zone, now=now),
            "lead_minutes": lead_minutes(booking),
            "zone_label": show.zone_label(zone_name, booking.start),
            "detail_url": detail_url,
        },
    )
