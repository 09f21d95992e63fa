"""Every change to video rooms: the room of a booking, ad-hoc calls, joining and leaving.

A join is recorded when a person's client enters the room (attendance), a leave when it
goes; "who is waiting" and session durations are read from those rows
(``queries.py``). When the patient arrives and the specialist is not there, the
specialist is told: an in-app notification (kind ``booking.waiting``, linking to the
booking) pushed to their pages.

An **ad-hoc call** (``do_start_adhoc``) is a room without a booking that a specialist
opens within an active care relationship, on a brand that sets ``video_adhoc_calls``:
one open call per pair (starting again reuses it), the patient told "... is calling you"
(kind ``booking.call``), ended by the specialist (``do_end_adhoc``) or by its lifetime
(``rules.ADHOC_LIFETIME``). Settling rooms once they close is ``settle.py``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caredoor.core.accounts.policy import Role
from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import active_relationship
from caredoor.core.compliance import audit
from caredoor.core.notifications.actions import do_mark_read_about, do_refresh_in_app
from caredoor.core.notifications.links import HOMES, portal_path
from caredoor.core.notifications.models import Channel
from caredoor.core.notifications.preferences import allows
from caredoor.core.notifications.push import send, video_group
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.queries import public_name
from caredoor.core.video.models import Attendance, Room, RoomKind, Side
from caredoor.core.video.providers import VideoProviderError, get_provider
from caredoor.core.video.queries import open_adhoc_room, present
from caredoor.core.video.rules import ADHOC_LIFETIME

log = logging.getLogger("caredoor.video")

WAITING_KIND = "booking.waiting"
CALL_KIND = "booking.call"  # "<specialist> is calling you" (an ad-hoc call), to the patient
# The ad-hoc call page of each portal (the room's opaque name in the path).
CALL_URLS = {"patient": "patient:adhoc_call", "specialist": "specialist:adhoc_call"}


def room_for(booking: Booking) -> Room:
    """The booking's one room (created on first use; concurrent first uses agree)."""
    room = Room.objects.filter(booking=booking).first()
    if room is not None:
        return room
    provider = get_provider().name
    try:
        with transaction.atomic():
            return Room.objects.create(
                brand_id=booking.brand_id,
                kind=RoomKind.BOOKING,
                booking=booking,
                patient_id=booking.patient_id,
                profile_id=booking.profile_id,
                provider=provider,
            )
    except IntegrityError:
        return Room.objects.get(booking=booking)


def do_join(room: Room, user: Any, side: str, now: datetime | None = None) -> Attendance:
    """Record that ``user`` entered the room; tell a specialist who is not there that
    the patient is waiting. A room holds one client per side (the newest): rows of this
    side still open (a replaced tab, a server that died) end now."""
    now = now or timezone.now()
    with transaction.atomic():
        Attendance.objects.filter(room=room, side=side, left_at__isnull=True).update(left_at=now)
        attendance = Attendance.objects.create(room=room, user=user, side=side, joined_at=now)
        if side == Side.PATIENT and Side.SPECIALIST not in present(room):
            _tell_waiting(room)
    return attendance


def do_leave(attendance: Attendance, now: datetime | None = None) -> Attendance:
    """Record that the client left (idempotent: the first leave counts)."""
    now = now or timezone.now()
    Attendance.objects.filter(pk=attendance.pk, left_at__isnull=True).update(left_at=now)
    attendance.refresh_from_db(fields=["left_at"])
    return attendance


def _tell_waiting(room: Room) -> None:
    specialist = room.profile.user
    brand = room.brand
    if not allows(specialist, brand, WAITING_KIND, Channel.IN_APP):
        return
    with translation.override(specialist.language or brand.default_language):
        title = _("Your patient is waiting in the video room.")
    if room.booking_id:
        url = portal_path("specialist", "join", room.booking_id)
    else:
        url = call_path("specialist", room)
    do_refresh_in_app(
        specialist, brand, portal="specialist", kind=WAITING_KIND, title=title, url=url
    )


# --- ad-hoc calls -------------------------------------------------------------------------


def call_path(side: str, room: Room) -> str:
    """The path of an ad-hoc call's page in the portal of ``side`` (the portal's home while
    the portal has no such page)."""
    try:
        return reverse(CALL_URLS[side], args=[room.name])
    except NoReverseMatch:
        return reverse(HOMES[side])


def _refuse_adhoc(brand: Brand, profile: SpecialistProfile, patient: Any) -> None:
    if not brand.video_adhoc_calls:
        raise ValidationError(
            gettext_lazy("Video calls outside a booking are not offered on this site."),
            code="not_allowed",
        )
    if active_relationship(brand, patient, profile.pk) is None:
        raise ValidationError(
            gettext_lazy("You can call a patient only while you are caring for them."),
            code="no_care",
        )


def _close_expired(brand: Brand, profile: SpecialistProfile, patient: Any, now: datetime) -> None:
    """Open ad-hoc rooms of the pair past their lifetime are closed at its end."""
    expired = Room.objects.filter(
        brand=brand,
        kind=RoomKind.ADHOC,
        patient=patient,
        profile=profile,
        closed_at__isnull=True,
        created_at__lte=now - ADHOC_LIFETIME,
    )
    expired.update(closed_at=F("created_at") + ADHOC_LIFETIME)


def do_start_adhoc(
    brand: Brand,
    profile: SpecialistProfile,
    patient: Any,
    *,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Room:
    """The specialist ``profile`` calls ``patient`` on ``brand``: the pair's open ad-hoc
    room (created if there is none; one per pair at a time), and the patient told in the
    app, live. Refused (``ValidationError``) unless the brand allows ad-hoc calls and the
    pair's care relationship is active."""
    now = now or timezone.now()
    _refuse_adhoc(brand, profile, patient)
    with transaction.atomic():
        _close_expired(brand, profile, patient, now)
        room = open_adhoc_room(brand, patient.pk, profile.pk, now)
        if room is None:
            try:
                with transaction.atomic():
                    room = Room.objects.create(
                        brand=brand,
                        kind=RoomKind.ADHOC,
                        patient=patient,
                        profile=profile,
                        provider=get_provider().name,
                    )
            except IntegrityError:  # a concurrent start of the same pair won
                room = open_adhoc_room(brand, patient.pk, profile.pk, timezone.now())
                if room is None:
                    raise
            else:
                audit.record(
                    "video.adhoc_started",
                    actor=profile.user,
                    role=Role.SPECIALIST,
                    target=room,
                    brand=brand,
                    request=request,
                    data={"profile": profile.pk, "patient": patient.pk},
                )
        _tell_calling(room, profile, patient)
    return room


def _tell_calling(room: Room, profile: SpecialistProfile, patient: Any) -> None:
    brand = room.brand
    if not allows(patient, brand, CALL_KIND, Channel.IN_APP):
        return
    language = patient.language if patient.language in brand.languages else ""
    with translation.override(language or brand.default_language):
        title = _("%(name)s is calling you. Join the video call.") % {"name": public_name(profile)}
    do_refresh_in_app(
        patient,
        brand,
        portal="patient",
        kind=CALL_KIND,
        title=title,
        url=call_path("patient", room),
    )


def do_end_adhoc(
    room: Room, *, actor: Any, request: HttpRequest | None = None, now: datetime | None = None
) -> Room:
    """The specialist ends an ad-hoc call: nobody can enter it any more, and a call in
    progress ends for both sockets on commit. Ending an ended call changes nothing."""
    now = now or timezone.now()
    if room.kind != RoomKind.ADHOC or room.profile.user_id != getattr(actor, "pk", None):
        raise ValidationError(
            gettext_lazy("Only the specialist can end this call."), code="not_allowed"
        )
    with transaction.atomic():
        ended = Room.objects.filter(pk=room.pk, closed_at__isnull=True).update(closed_at=now)
        if ended:
            audit.record(
                "video.adhoc_ended",
                actor=actor,
                role=Role.SPECIALIST,
                target=room,
                brand=room.brand,
                request=request,
                data={"profile": room.profile_id, "patient": room.patient_id},
            )
            # The call's notice no longer leads anywhere: it is read.
            do_mark_read_about(
                room.patient,
                room.brand,
                portal="patient",
                kind=CALL_KIND,
                url=call_path("patient", room),
            )
            transaction.on_commit(partial(_end_call, room.name), robust=True)
            transaction.on_commit(partial(_close_provider_room, room.provider, room.name))
    room.refresh_from_db(fields=["closed_at"])
    return room


def _end_call(room_name: str) -> None:
    """Sockets in the call end now ("ended", reason ``closed``), not at their next check."""
    for side in Side.values:
        send(video_group(room_name, side), {"type": "video.end", "reason": "closed"})


def _close_provider_room(provider_name: str, room_name: str) -> None:
    provider = get_provider()
    if provider.name != provider_name:
        return
    try:
        provider.close_room(room_name)
    except VideoProviderError:
        log.warning("the provider could not close an ended call's room")
