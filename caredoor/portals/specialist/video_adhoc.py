"""Ad-hoc video calls from the specialist's side: start one from a patient's page, enter
it, end it (docs/video.md, "Ad-hoc calls").

A call is possible on a brand that sets ``video_adhoc_calls``, within an active care
relationship, from that brand's own site (the room belongs to the brand, and so does the
signaling socket). Starting is ``video.actions.do_start_adhoc`` (one open call per pair:
starting again leads into the open one); the room page is the common one
(``portals/common/video_room.render_room``); who may enter is ``video.rules``. Anyone
else, another brand, a booked session's room and a brand without calls answer 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.care.queries import access_specialist_relationship, specialist_relationships
from caredoor.core.video import rules
from caredoor.core.video.actions import do_end_adhoc, do_start_adhoc
from caredoor.core.video.models import Room
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.video_room import render_room
from caredoor.portals.specialist import booking_support as support

PORTAL = Portal.SPECIALIST


def _entry(request: HttpRequest, ctx: PortalContext, room_name: str) -> rules.Entry:
    """The ad-hoc call ``room_name`` of this specialist on this brand (404 otherwise)."""
    if ctx.brand is None:
        raise Http404
    entry = rules.room_entry(request.user, ctx.brand, PORTAL, room_name)
    if entry.booking is not None or entry.room is None:
        raise Http404  # a booked session is joined from its booking
    return entry


def _record_url(room: Room) -> str:
    rel = (
        specialist_relationships(room.profile, room.brand)
        .filter(patient_id=room.patient_id)
        .order_by("ended_at", "-pk")
        .first()
    )
    return reverse("specialist:patient", args=[rel.pk]) if rel else reverse("specialist:patients")


@require_POST
@portal_view(PORTAL)
def adhoc_start(request: HttpRequest, ctx: PortalContext, rel_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    rel = access_specialist_relationship(profile, rel_id)
    brand = ctx.brand
    if brand is None or rel.brand_id != brand.pk or not brand.video_adhoc_calls or rel.ended_at:
        raise Http404
    try:
        room = do_start_adhoc(brand, profile, rel.patient, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("specialist:patient", rel_id=rel.pk)
    return redirect("specialist:adhoc_call", room_name=room.name)


@require_GET
@portal_view(PORTAL)
def adhoc_call(request: HttpRequest, ctx: PortalContext, room_name: str) -> HttpResponse:
    entry = _entry(request, ctx, room_name)
    room = entry.room
    assert room is not None
    try:
        rules.check_join(entry, timezone.now())
    except rules.JoinRefused:
        return render(
            request,
            "specialist/video_call.html",
            {"ctx": ctx, "room": room, "back_url": _record_url(room)},
        )
    return room_page(request, ctx, entry)


def room_page(request: HttpRequest, ctx: PortalContext, entry: rules.Entry) -> HttpResponse:
    room = entry.room
    assert room is not None
    return render_room(
        request,
        ctx,
        entry,
        portal=PORTAL,
        back_url=_record_url(room),
        back_label=_("Back to the patient"),
        # For the room page to offer "End the call" (ad-hoc calls only have one).
        extra={"end_url": reverse("specialist:adhoc_end", args=[room.name])},
    )


@require_POST
@portal_view(PORTAL)
def adhoc_end(request: HttpRequest, ctx: PortalContext, room_name: str) -> HttpResponse:
    entry = _entry(request, ctx, room_name)
    room = entry.room
    assert room is not None
    try:
        do_end_adhoc(room, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The video call has ended."))
    return redirect(_record_url(room))


urlpatterns = [
    path("patients/<int:rel_id>/call/", adhoc_start, name="adhoc_start"),
    path("calls/<str:room_name>/", adhoc_call, name="adhoc_call"),
    path("calls/<str:room_name>/end/", adhoc_end, name="adhoc_end"),
]
