"""A video session the demo can join now: Ana and Dr. Mara Klein at Harbor Therapy have a
confirmed follow-up that started at the last five-minute mark, so both can open the room
in two browsers (README, "Try a video session").

The demo is about the call, not the calendar, so this one booking is written directly
(the booking actions refuse a start in the past and times outside Mara's hours, and the
demo may be started at any hour). Each ``make run`` (``seed_demo``) adds a new one when
none is open to join; one still open is left as it is.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from caredoor.core.accounts.models import User
from caredoor.core.booking.actions import new_booking
from caredoor.core.booking.join import is_joinable
from caredoor.core.booking.models import Booking, BookingStatus, Origin
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.models import SpecialistProfile

ANA = "ana.patient@caredoor.test"
MARA = "mara.klein@caredoor.test"


def seed_video(brands: dict[str, Brand], log=print) -> Booking | None:  # type: ignore[no-untyped-def]
    harbor = brands.get("harbor")
    ana = User.objects.filter(email=ANA).first()
    mara = SpecialistProfile.objects.filter(user__email=MARA).first()
    follow_up = SessionType.objects.filter(profile=mara, name="Follow-up").first()
    if harbor is None or ana is None or mara is None or follow_up is None:
        return None
    now = timezone.now()
    recent = Booking.objects.filter(
        brand=harbor,
        patient=ana,
        profile=mara,
        status=BookingStatus.CONFIRMED,
        start__gte=now - timedelta(days=1),
        start__lte=now + timedelta(hours=1),
    ).select_related("brand")
    for booking in recent:
        if is_joinable(booking, now):
            log(f"video     Ana and Dr. Mara Klein can join booking {booking.pk} now")
            return booking
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    booking = new_booking(
        patient=ana,
        brand=harbor,
        session_type=follow_up,
        start=start,
        status=BookingStatus.CONFIRMED,
        origin=Origin.PROPOSAL,
        created_by=mara.user,
    )
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError:  # another of Ana's or Mara's bookings holds this time
        log("video     no session now: the time is taken")
        return None
    until = f"{booking.end:%H:%M} UTC"
    log(f"video     Ana and Dr. Mara Klein can join booking {booking.pk} until {until}")
    return booking
