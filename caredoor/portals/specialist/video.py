"""The specialist's way into a booked session's video room.

``session_join`` (``specialist:session_join``) admits only the booking's specialist on the
booking's brand (``video.rules.booking_for``: 404 for anyone else, as for missing
bookings). Inside the join window of a confirmed booking it is the room itself
(``common/video_room.py``); the specialist may wait there while the patient still has
documents to sign. Before the window, after it, or for a booking that is not confirmed, it
explains why the room is not open, like the patient's join page.

``join_card`` is what the booking page shows about the room: whether it is open now and
whether the patient is waiting in it (the template tag ``video_join`` asks it).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.join import join_window, lead_minutes
from caredoor.core.booking.models import Booking
from caredoor.core.consents.gate import session_blockers
from caredoor.core.scheduling.queries import zone_of
from caredoor.core.video import rules
from caredoor.core.video.actions import room_for
from caredoor.core.video.models import Side
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.video_room import render_room
from caredoor.portals.specialist.sessions import JoinCard, join_cards

PORTAL = Portal.SPECIALIST


def _when(moment: datetime, zone: str) -> str:
    return date_format(
        moment.astimezone(ZoneInfo(zone)),
        pgettext("date format: a session's day and time", "D j M, H:i"),
    )


@portal_view(PORTAL)
@require_GET
def session_join(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    entry = rules.booking_for(request.user, brand, PORTAL, booking_id)
    booking = entry.booking
    assert booking is not None
    zone = zone_of(booking.profile)
    back_url = reverse("specialist:booking", args=[booking.pk])
    try:
        rules.check_join(entry, timezone.now())
    except rules.JoinRefused as refused:
        opens, _closes = join_window(booking)
        return render(
            request,
            "specialist/video_join.html",
            {
                "ctx": ctx,
                "booking": booking,
                "state": refused.code,
                "when": _when(booking.start, zone),
                "end": date_format(booking.end.astimezone(ZoneInfo(zone)), "H:i"),
                "opens": _when(opens, zone),
                "lead_minutes": lead_minutes(booking),
                "zone": zone.replace("_", " "),
                "back_url": back_url,
            },
        )
    return render_room(
        request,
        ctx,
        rules.Entry(booking, Side.SPECIALIST, room_for(booking)),
        portal=PORTAL,
        zone=zone,
        back_url=back_url,
        back_label=pgettext("video room", "Back to the booking"),
        extra={"consents_missing": bool(session_blockers(booking))},
    )


def join_card(booking: Booking, now: datetime | None = None) -> JoinCard:
    """Open now (a confirmed booking inside its join window), and is the patient in the
    room while the specialist is not? Reads only: the room is created when someone enters.
    One booking's case of ``sessions.join_cards``."""
    return join_cards([booking], booking.brand, now)[booking.pk].card
