"""When a booked session's room is open: from the brand's lead time before the start to
the end plus the brand's grace period (``Brand.video_join_lead_minutes`` and
``video_join_grace_minutes``; 10 and 15 by default). The home page, the join page, the
specialist's views and the video room all ask here."""

from __future__ import annotations

from datetime import datetime, timedelta

from caredoor.core.booking.models import Booking


def join_window(booking: Booking) -> tuple[datetime, datetime]:
    brand = booking.brand
    return (
        booking.start - timedelta(minutes=brand.video_join_lead_minutes),
        booking.end + timedelta(minutes=brand.video_join_grace_minutes),
    )


def lead_minutes(booking: Booking) -> int:
    return booking.brand.video_join_lead_minutes


def is_joinable(booking: Booking, now: datetime) -> bool:
    opens, closes = join_window(booking)
    return opens <= now <= closes
