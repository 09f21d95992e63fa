"""Reads of bookings for the slot engine and the booking actions."""

from __future__ import annotations

from datetime import datetime

from caredoor.core.booking.models import Booking
from caredoor.core.scheduling import engine
from caredoor.core.specialists.models import SpecialistProfile


def busy_intervals(
    profile: SpecialistProfile | int, start: datetime, end: datetime
) -> list[engine.Busy]:
    """The specialist's active bookings whose blocked range overlaps ``[start, end)``,
    each with its own buffers, as the slot engine takes them."""
    profile_id = profile if isinstance(profile, int) else profile.pk
    rows = (
        Booking.objects.filter(profile_id=profile_id)
        .blocking(start, end)
        .values_list("start", "end", "blocked_start", "blocked_end")
    )
    return [engine.Busy(s, e, buffer_before=s - bs, buffer_after=be - e) for s, e, bs, be in rows]
