"""Video on the specialist's booking page.

``{% video_join booking as video %}``: the session's room now (``specialist/video.py``,
``join_card``): ``video.joinable``, ``video.url``, ``video.patient_waiting``. How the room
was used afterwards is ``specialist_video_calls.video_attendance``.
"""

from __future__ import annotations

from django import template

from caredoor.core.booking.models import Booking
from caredoor.portals.specialist.sessions import JoinCard
from caredoor.portals.specialist.video import join_card

register = template.Library()


@register.simple_tag
def video_join(booking: Booking) -> JoinCard:
    return join_card(booking)
