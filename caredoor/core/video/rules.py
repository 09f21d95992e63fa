"""Who may enter a booking's room, and when: the one place the room page, the signaling
socket and the API ask.

Only the booking's patient and its specialist, on the booking's brand, in their own
portal; anyone else gets ``Http404`` (missing and forbidden look the same). The booking
must be confirmed, and now must be inside the brand's join window
(``booking/join.py``). The patient must have signed what the session requires
(``consents.gate.session_blockers``); the specialist may wait in the room meanwhile.
A refusal names its reason, and the page explains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import Http404

from caredoor.core.booking.join import join_window
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.consents.gate import session_blockers
from caredoor.core.video.models import Side

PORTAL_SIDE = {"patient": Side.PATIENT, "specialist": Side.SPECIALIST}


class JoinRefused(Exception):
    """Not now, or not yet: ``code`` is ``not_confirmed``, ``early``, ``over`` or
    ``consents``; ``opens`` is when the room opens (for ``early``)."""

    def __init__(self, code: str, opens: datetime | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.opens = opens


@dataclass(frozen=True)
class Entry:
    booking: Booking
    side: str


def booking_for(user: Any, brand: Brand, portal: str, booking_id: int) -> Entry:
    """The booking, if ``user`` is its patient or specialist on ``brand`` in ``portal``."""
    side = PORTAL_SIDE.get(portal)
    booking = (
        Booking.objects.select_related("brand", "profile__user", "patient", "session_type")
        .filter(pk=booking_id, brand=brand)
        .first()
    )
    if booking is None or side is None or not getattr(user, "is_authenticated", False):
        raise Http404
    is_party = (
        booking.patient_id == user.pk
        if side == Side.PATIENT
        else booking.profile.user_id == user.pk
    )
    if not is_party:
        raise Http404
    return Entry(booking, side)


def check_join(entry: Entry, now: datetime) -> None:
    """Raise ``JoinRefused`` unless the person may enter the room now."""
    booking = entry.booking
    if booking.status != BookingStatus.CONFIRMED:
        raise JoinRefused("not_confirmed")
    opens, closes = join_window(booking)
    if now < opens:
        raise JoinRefused("early", opens)
    if now > closes:
        raise JoinRefused("over")
    if entry.side == Side.PATIENT and session_blockers(booking):
        raise JoinRefused("consents")
