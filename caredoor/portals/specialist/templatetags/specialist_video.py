"""Video on the specialist's booking page.

``{% video_join booking as video %}``: the session's room now (``specialist/video.py``,
``join_card``): ``video.joinable``, ``video.url``, ``video.patient_waiting``.

``{% video_attendance booking as attendance %}``: how the room was used, once its window
has closed (``core.video.queries.session_durations``), and whether the specialist is asked
to confirm the patient's no-show (``core.video.settle``); ``None`` without a room.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone

from caredoor.core.booking import policy
from caredoor.core.booking.join import join_window
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.video.models import Outcome, Room
from caredoor.core.video.queries import session_durations
from caredoor.portals.specialist.video import JoinCard, join_card

register = template.Library()

MINUTE = timedelta(minutes=1)


@register.simple_tag
def video_join(booking: Booking) -> JoinCard:
    return join_card(booking)


def _side(joined: Any, spent: timedelta) -> dict[str, Any]:
    return {
        "joined": joined,
        "minutes": int(spent.total_seconds() // 60),
        "under_a_minute": spent < MINUTE,
    }


@register.simple_tag
def video_attendance(booking: Booking) -> dict[str, Any] | None:
    room = Room.objects.filter(booking=booking).first()
    if room is None:
        return None
    now = timezone.now()
    over = room.settled_at is not None or now > join_window(booking)[1]
    durations = session_durations(room, now)
    fee = (booking.policy or {}).get("no_show_fee_percent", policy.DEFAULTS["no_show_fee_percent"])
    return {
        "over": over,
        "anyone": durations.anyone,
        "patient": _side(durations.patient_joined, durations.patient),
        "specialist": _side(durations.specialist_joined, durations.specialist),
        "together": int(durations.together.total_seconds() // 60),
        "ask_no_show": room.outcome == Outcome.PATIENT_ABSENT
        and booking.status == BookingStatus.CONFIRMED,
        "no_show_fee": fee,
    }
