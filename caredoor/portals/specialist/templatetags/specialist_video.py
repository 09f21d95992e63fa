"""``{% video_join booking as video %}``: the booking page's view of the session's room
(``specialist/video.py``, ``join_card``): ``video.joinable``, ``video.url``,
``video.patient_waiting``."""

from __future__ import annotations

from django import template

from caredoor.core.booking.models import Booking
from caredoor.portals.specialist.video import JoinCard, join_card

register = template.Library()


@register.simple_tag
def video_join(booking: Booking) -> JoinCard:
    return join_card(booking)
