"""The video room page, shared by the patient's and the specialist's portals.

``render_room`` renders the device check, the waiting room and the call
(``common/video_room.html`` and ``ui/static/caredoor/js/video.js``) for one person's
``Entry`` into a room whose ``room`` is set. Who may enter and when is decided before
(``core.video.rules``); this page only shows the room and hands the browser what it needs:
the signaling socket's path (docs/video.md, "Signaling"), the side, the brand's fallback
delay, the other person's name, the session's context when the room belongs to a booking
(ad-hoc calls have none), the link to the pair's conversation when one exists and this
person may open it, a link back, and the translated strings the script shows. With
``extra={"end_url": ...}`` (an ad-hoc call's specialist) the page offers "End the call": a
POST to that URL, sent after the script has left the room.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from caredoor.core.messaging.models import Thread, ThreadKind
from caredoor.core.messaging.queries import side_of
from caredoor.core.specialists.queries import public_name
from caredoor.core.video.models import Room, Side
from caredoor.core.video.queries import present
from caredoor.core.video.rules import Entry
from caredoor.portals.common.access import PortalContext

TEMPLATE = "common/video_room.html"


def ws_path(portal: str, room: Room) -> str:
    """The signaling socket of ``room`` for a person in ``portal``."""
    return f"/ws/video/{portal}/{room.name}/"


def other_name(room: Room, side: str) -> str:
    """The name this side sees for the other person."""
    if side == Side.PATIENT:
        return public_name(room.profile)
    return room.patient.display_name


def conversation_url(room: Room, user: Any, side: str, portal: str) -> str:
    """The pair's care conversation on the room's brand, if it exists and ``user`` may open
    it on this side (nothing is created here)."""
    thread = (
        Thread.objects.select_related("brand", "patient", "profile__user", "organization")
        .filter(
            brand_id=room.brand_id,
            kind=ThreadKind.CARE,
            patient_id=room.patient_id,
            profile_id=room.profile_id,
        )
        .first()
    )
    if thread is None or side_of(user, thread) != side:
        return ""
    try:
        return reverse(f"{portal}:thread", args=[thread.pk])
    except NoReverseMatch:
        return ""


def _zone_of(request: HttpRequest, zone: str | None) -> str:
    for name in (zone, getattr(request.user, "time_zone", None), _brand_zone(request)):
        if name:
            try:
                ZoneInfo(name)
            except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
                continue
            return name
    return "UTC"


def _brand_zone(request: HttpRequest) -> str | None:
    brand = getattr(request, "brand", None)
    return getattr(brand, "time_zone", None)


def session_context(entry: Entry, zone_name: str) -> dict[str, Any] | None:
    """The booked session as this person reads it: type, day and time in their zone."""
    booking = entry.booking
    if booking is None:
        return None
    zone = ZoneInfo(zone_name)
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    return {
        "type": booking.session_type.name,
        "when": date_format(start, pgettext("date format: a session's day and time", "D j M, H:i")),
        "end": date_format(end, "H:i"),
        "start_iso": booking.start.isoformat(),
        "end_iso": booking.end.isoformat(),
        "zone": zone_name.replace("_", " "),
        "lead_minutes": booking.brand.video_join_lead_minutes,
    }


def ui_strings(side: str, name: str) -> dict[str, str]:
    """Every sentence the script shows, translated here (the script holds no text)."""
    if side == Side.PATIENT:
        waiting = _("Waiting for the specialist to join.")
        other_reconnecting = _("The specialist's connection dropped. Waiting for it to return…")
        other_left = _("The specialist left the call.")
        other_here = _("The specialist is here. Connecting…")
    else:
        waiting = _("Waiting for your patient to join.")
        other_reconnecting = _("Your patient's connection dropped. Waiting for it to return…")
        other_left = _("Your patient left the call.")
        other_here = _("Your patient is here. Connecting…")
    return {
        "otherName": name,
        "waiting": waiting,
        "waitingNote": _("You will see and hear each other as soon as both are here."),
        "otherHere": other_here,
        "otherReconnecting": other_reconnecting,
        "otherLeft": other_left,
        "connecting": _("Connecting…"),
        "connected": _("Connected."),
        "reconnecting": _("Your connection dropped. Reconnecting…"),
        "joining": _("Joining the room…"),
        "checking": _("Starting your camera and microphone…"),
        "checkReady": _("Your camera and microphone are ready."),
        "checkAudioOnly": _("Your microphone is ready. You can join with audio only."),
        "cameraN": _("Camera %(n)s"),
        "microphoneN": _("Microphone %(n)s"),
        "noneFound": _("None found"),
        "devicesBlocked": _("Not allowed"),
        "remoteMuted": _("Muted"),
        "remoteCameraOff": _("Camera off"),
        "remoteScreen": _("Sharing their screen"),
        "youMuted": _("You are muted."),
        "youUnmuted": _("Your microphone is on."),
        "cameraOffNow": _("Your camera is off."),
        "cameraOnNow": _("Your camera is on."),
        "shareStarted": _("You are sharing your screen."),
        "shareStopped": _("You stopped sharing your screen."),
        "shareFailed": _("Screen sharing did not start."),
        "blurOn": _("Your background is blurred."),
        "blurOff": _("Your background is no longer blurred."),
        "blurFailed": _("The background blur could not start."),
        "playBlocked": _("Your browser paused the sound. Select “Play sound” to hear the call."),
        "fallbackTitle": _("The video connection is not working."),
        "fallbackText": _(
            "You can continue with audio only, which needs much less of your connection, or "
            "write to each other in the conversation."
        ),
        "audioOnlyNow": _("Audio only: video is off for this call."),
        "problemDenied": _(
            "Your browser is not allowing this page to use your camera and microphone."
        ),
        "problemDeniedHelp": _(
            "To allow them, select the icon at the left of the address bar (a padlock or a "
            "camera), set Camera and Microphone to Allow, then select “Try again”. On a phone, "
            "you may also need to allow your browser to use them in the phone's settings."
        ),
        "problemNotFound": _("We found no camera or microphone."),
        "problemNotFoundHelp": _(
            "Connect a camera or a headset, or check that it is switched on, then select "
            "“Try again”."
        ),
        "problemNoCamera": _("We found no camera, or it could not start."),
        "problemNoCameraHelp": _(
            "You can join with audio only, or connect a camera and select “Try again”."
        ),
        "problemNoMicrophone": _("We found no microphone, or it could not start."),
        "problemNoMicrophoneHelp": _(
            "The other person will not hear you. Connect a microphone or a headset, then "
            "select “Try again”."
        ),
        "problemInUse": _(
            "Your camera or microphone is in use by another app, or the system blocked it."
        ),
        "problemInUseHelp": _(
            "Close other apps that may use it (another video call, for example), then select "
            "“Try again”."
        ),
        "problemUnsupported": _("This browser cannot use a camera and microphone on this page."),
        "problemUnsupportedHelp": _(
            "Open this page in a current version of Firefox, Chrome, Edge or Safari, over a "
            "secure (https) address."
        ),
        "problemOther": _("Your camera or microphone could not start."),
        "problemOtherHelp": _("Select “Try again”. If it keeps failing, restart your browser."),
        "ending": _("Ending the call…"),
        "youLeft": _("You left the call."),
        "youLeftText": _("You can rejoin while the session is open."),
        "replaced": _("This session is open in another tab or window."),
        "replacedText": _(
            "Only one tab can be in the call. Use the other one, or select “Rejoin” to "
            "continue here."
        ),
        "signedOut": _("You were signed out."),
        "signedOutText": _("Sign in again, then come back to this page to rejoin."),
        "unavailable": _("The video service is not available right now."),
        "unavailableText": _("Please try again in a moment."),
        "unsupportedProvider": _("This page cannot connect to this site's video service."),
        "ended_over": _("The session's time is over: the room has closed."),
        "ended_closed": _("This call has ended."),
        "ended_not_confirmed": _(
            "This session is no longer confirmed (it was cancelled or moved)."
        ),
        "ended_not_found": _("This video room no longer exists, or it is not yours."),
        "ended_early": _("The room is not open yet."),
        "ended_consents": _("Some documents need to be signed before the session."),
        "endedText": _("Go back to the session's page to see what comes next."),
        "opensAt": _("It opens at %(time)s."),
        "roomClosed": _("The room is closed"),
    }


def render_room(
    request: HttpRequest,
    ctx: PortalContext,
    entry: Entry,
    *,
    portal: str,
    zone: str | None = None,
    back_url: str = "",
    back_label: str = "",
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The room page for ``entry`` (whose ``room`` is set) in ``portal``.

    ``zone`` is the viewer's time zone for the session's times (default: theirs, else the
    brand's); ``back_url`` where "back" leads (the booking's page); ``extra`` more template
    context. Works for rooms without a booking (ad-hoc calls): the session part is left out.
    """
    room = entry.room
    if room is None:
        raise ValueError("render_room needs an entry with its room")
    portal = str(portal)  # a Portal choice renders as its value
    name = other_name(room, entry.side)
    other_side = Side.SPECIALIST if entry.side == Side.PATIENT else Side.PATIENT
    zone_name = _zone_of(request, zone)
    context: dict[str, Any] = {
        "ctx": ctx,
        "room": room,
        "side": entry.side,
        "is_patient": entry.side == Side.PATIENT,
        "ws_path": ws_path(portal, room),
        "fallback_seconds": room.brand.video_fallback_seconds,
        # LiveKit's browser SDK is loaded only for its provider: it patches
        # RTCPeerConnection, which the p2p path uses as the browser made it.
        "video_provider": settings.VIDEO["provider"],
        "other_name": name,
        "other_initial": (name[:1] or "?").upper(),
        "other_present": other_side in present(room),
        "session": session_context(entry, zone_name),
        "booking": entry.booking,
        "conversation_url": conversation_url(room, request.user, entry.side, portal),
        "back_url": back_url,
        "back_label": back_label or _("Back to the session"),
        "strings": ui_strings(entry.side, name),
        **(extra or {}),
    }
    response = render(request, TEMPLATE, context, status=status)
    # Camera, microphone and screen capture for this page only (the default policy of
    # browsers allows them to the page's own origin; saying so keeps it explicit).
    response["Permissions-Policy"] = "camera=(self), microphone=(self), display-capture=(self)"
    response["Cache-Control"] = "no-store"
    return response
