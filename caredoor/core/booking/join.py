"""When a booked session's room is open: from a lead time before the start to the end plus
a grace period. Issue 7 (video) makes both configurable per brand; until then these are
the defaults the home page, the join page and the specialist's view all use."""

from __future__ import annotations

from datetime import datetime, timedelta

from caredoor.core.booking.models import Booking

JOIN_LEAD = timedelta(minutes=10)
JOIN_GRACE = timedelta(minutes=15)


def join_window(booking: Booking) -> tuple[datetime, datetime]:
    return booking.start - JOIN_LEAD, booking.end + JOIN_GRACE


def is_joinable(booking: Booking, now: datetime) -> bool:
    opens, closes = join_window(booking)
    return opens <= now <= closes
