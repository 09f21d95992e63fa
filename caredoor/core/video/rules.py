"""Who may enter a room, and when: the one place the room pages, the signaling socket and
the API ask.

A **booked session's room**: only the booking's patient and its specialist, on the
booking's brand, in their own portal; anyone else gets ``Http404`` (missing and forbidden
look the same). The booking must be confirmed, and now must be inside the brand's join
window (``booking/join.py``).

An **ad-hoc call** (a room without a booking, ``RoomKind.ADHOC``): only the room's patient
and specialist, on a brand that allows such calls (``Brand.video_adhoc_calls``), while
their care relationship is active, the room is not closed and no older than
``ADHOC_LIFETIME``.

In both, the patient must have signed what a session requires
(``consents.gate.session_blockers``); the specialist may wait in the room meanwhile. A
refusal names its reason, and the page explains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import Http404

from caredoor.core.booking.join import join_window
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import active_relationship
from caredoor.core.consents.gate import session_blockers
from caredoor.core.video.models import Room, RoomKind, Side

PORTAL_SIDE = {"patient": Side.PATIENT, "specialist": Side.SPECIALIST}
ADHOC_LIFETIME = timedelta(hours=2)  # an ad-hoc call's room can be entered this long


class JoinRefused(Exception):
    """Not now, or not yet: ``code`` is ``not_confirmed``, ``early``, ``over``, ``closed``
    or ``consents``; ``opens`` is when the room opens (for ``early``)."""

    def __init__(self, code: str, opens: datetime | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.opens = opens


@dataclass(frozen=True)
class Entry:
    """A person's way into a room: the booking (``None`` for an ad-hoc call), their side,
    and the room once known (``None`` for a booking whose room is not created yet)."""

    booking: Booking | None
    side: str
    room: Room | None = None


def booking_for(user: Any, brand: Brand, portal: str, booking_id: int) -> Entry:
    """The booking, if ``user`` is its patient or specialist on ``brand`` in ``portal``."""
    side = PORTAL_SIDE.get(portal)
    booking = (
        Booking.objects.select_related("brand", "profile__user", "patient", "session_type")
        .filter(pk=booking_id, brand=brand)
        .first()
    )
    if booking is None or side is None or not _is_party(user, side, booking):
        raise Http404
    return Entry(booking, side)


def room_entry(user: Any, brand: Brand, portal: str, room_name: str) -> Entry:
    """The room named ``room_name`` on ``brand``, if ``user`` is one of its two people in
    ``portal`` (the signaling socket's lookup)."""
    side = PORTAL_SIDE.get(portal)
    room = (
        Room.objects.select_related(
            "brand",
            "booking__brand",
            "booking__profile__user",
            "booking__patient",
            "booking__session_type",
            "profile__user",
            "patient",
        )
        .filter(name=room_name, brand=brand)
        .first()
        if isinstance(room_name, str) and room_name
        else None
    )
    if room is None or side is None or not _is_party(user, side, room):
        raise Http404
    if room.kind == RoomKind.ADHOC and not brand.video_adhoc_calls:
        raise Http404
    return Entry(room.booking, side, room)


def _is_party(user: Any, side: str, thing: Booking | Room) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if side == Side.PATIENT:
        return thing.patient_id == user.pk
    return thing.profile.user_id == user.pk


def check_join(entry: Entry, now: datetime) -> None:
    """Raise ``JoinRefused`` unless the person may enter the room now."""
    booking = entry.booking
    if booking is None:
        _check_adhoc(entry, now)
        return
    if booking.status != BookingStatus.CONFIRMED:
        raise JoinRefused("not_confirmed")
    opens, closes = join_window(booking)
    if now < opens:
        raise JoinRefused("early", opens)
    if now > closes:
        raise JoinRefused("over")
    if entry.side == Side.PATIENT and session_blockers(booking):
        raise JoinRefused("consents")


def closes_at(entry: Entry) -> datetime | None:
    """When the room stops admitting (and the signaling server ends the call)."""
    if entry.booking is not None:
        return join_window(entry.booking)[1]
    if entry.room is not None:
        return entry.room.created_at + ADHOC_LIFETIME
    return None


def _check_adhoc(entry: Entry, now: datetime) -> None:
    room = entry.room
    if room is None:
        raise Http404
    closes = closes_at(entry)
    if room.closed_at is not None or (closes is not None and now > closes):
        raise JoinRefused("closed")
    if active_relationship(room.brand, room.patient, room.profile_id) is None:
        raise JoinRefused("closed")
    if entry.side == Side.PATIENT and session_blockers(room):
        raise JoinRefused("consents")
