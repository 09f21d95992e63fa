"""Every change to video rooms: the room of a booking, joining and leaving.

A join is recorded when a person's client enters the room (attendance), a leave when it
goes; "who is waiting" and session durations are read from those rows
(``queries.py``). When the patient arrives and the specialist is not there, the
specialist is told: an in-app notification (kind ``booking.waiting``, linking to the
booking) pushed to their pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from caredoor.core.booking.models import Booking
from caredoor.core.notifications.actions import do_refresh_in_app
from caredoor.core.notifications.links import portal_path
from caredoor.core.notifications.models import Channel
from caredoor.core.notifications.preferences import allows
from caredoor.core.video.models import Attendance, Room, RoomKind, Side
from caredoor.core.video.providers import get_provider
from caredoor.core.video.queries import present

WAITING_KIND = "booking.waiting"


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
    the patient is waiting."""
    now = now or timezone.now()
    with transaction.atomic():
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
    url = portal_path("specialist", "join", room.booking_id) if room.booking_id else ""
    do_refresh_in_app(
        specialist, brand, portal="specialist", kind=WAITING_KIND, title=title, url=url
    )
