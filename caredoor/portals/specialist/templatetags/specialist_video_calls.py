"""What the specialist's pages show about a session's attendance and ad-hoc calls:

``{% video_attendance booking as attendance %}`` (``specialist/_video_attendance.html``):
how the booking's room was used once the session is over
(``core.video.queries.session_durations``) and whether the specialist is asked to confirm
the patient's no-show (``core.video.settle``); None when no room was ever opened.

``{% adhoc_call rel as call %}`` (``specialist/patients/_video_call.html``): whether the
specialist may call the relationship's patient from this site, and the open call.

Tags, so the pages that include these parts need no change to their views: reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone

from caredoor.core.booking import policy
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.video.actions import call_path
from caredoor.core.video.models import Outcome, Room
from caredoor.core.video.queries import open_adhoc_room, session_durations
from caredoor.core.video.settle import room_closes

register = template.Library()


@dataclass(frozen=True)
class SideTime:
    joined: datetime | None
    minutes: int  # whole minutes

    @property
    def under_a_minute(self) -> bool:
        return self.joined is not None and self.minutes == 0


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


@dataclass(frozen=True)
class Attendance:
    room: Room
    over: bool  # the session has ended: the summary is shown
    ask_no_show: bool  # settled "patient absent" and still confirmed
    no_show_fee: Any
    patient: SideTime
    specialist: SideTime
    together: int
    outcome: str

    @property
    def anyone(self) -> bool:
        return self.patient.joined is not None or self.specialist.joined is not None


@register.simple_tag
def video_attendance(booking: Booking) -> Attendance | None:
    """The booking's room and what attendance says (None: no room was ever opened)."""
    room = Room.objects.filter(booking=booking).select_related("booking__brand").first()
    if room is None:
        return None
    now = timezone.now()
    # Attendance left open counts until the room closed at the latest (settlement does
    # the same when it closes stale rows).
    durations = session_durations(room, now=min(now, room_closes(room)))
    outcome = room.outcome if room.settled_at else ""
    return Attendance(
        room=room,
        over=room.settled_at is not None or now >= booking.end,
        ask_no_show=outcome == Outcome.PATIENT_ABSENT and booking.status == BookingStatus.CONFIRMED,
        no_show_fee=(booking.policy or {}).get(
            "no_show_fee_percent", policy.DEFAULTS["no_show_fee_percent"]
        ),
        patient=SideTime(durations.patient_joined, _minutes(durations.patient)),
        specialist=SideTime(durations.specialist_joined, _minutes(durations.specialist)),
        together=_minutes(durations.together),
        outcome=outcome,
    )


@dataclass(frozen=True)
class Call:
    offered: bool  # the brand allows calls, the relationship is active and on this site
    elsewhere: bool  # could be, but on another brand's site
    room: Room | None
    join_url: str


@register.simple_tag(takes_context=True)
def adhoc_call(context: template.Context, rel: Any) -> Call:
    """Whether the specialist may call the relationship's patient here, and the open call."""
    ctx = context.get("ctx")
    brand = getattr(ctx, "brand", None)
    possible = rel.ended_at is None and rel.brand.video_adhoc_calls
    if brand is None or not possible:
        return Call(False, False, None, "")
    if rel.brand_id != brand.pk:
        return Call(False, True, None, "")
    room = open_adhoc_room(rel.brand, rel.patient_id, rel.profile_id, timezone.now())
    return Call(True, False, room, call_path("specialist", room) if room else "")
