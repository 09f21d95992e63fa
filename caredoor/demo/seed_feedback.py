"""Demo feedback on Harbor Therapy: Ana's last session with Dr. Mara Klein is completed and
waits for her feedback (her home page shows the prompt), and six other Harbor patients have
answered after their sessions with Dr. Klein, so her totals and the organization's view have
enough answers to show results.

Past sessions cannot be booked through ``do_book`` (it refuses times in the past), so these
are built with ``booking.actions.new_booking`` and inserted through ``booking.writes``
(which also starts the pair's care relationship), then marked completed directly: the demo's
history, not a live booking. The answers go through ``feedback.actions``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from caredoor.core.accounts.actions import do_grant_membership
from caredoor.core.accounts.models import User
from caredoor.core.booking import writes
from caredoor.core.booking.actions import new_booking
from caredoor.core.booking.models import Booking, BookingStatus, Origin
from caredoor.core.brands.models import Brand
from caredoor.core.feedback.actions import do_give_feedback
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.demo import data

MARA = "mara.klein@caredoor.test"
ANA = "ana.patient@caredoor.test"
# (email, name, days ago, satisfaction, progress, nps, comment)
ANSWERS = [
    ("leo.harbor@caredoor.test", "Leo Harbor-Patient", 4, 5, 4, 10, "Very calm and clear."),
    ("mia.harbor@caredoor.test", "Mia Harbor-Patient", 6, 4, 4, 9, ""),
    ("noah.harbor@caredoor.test", "Noah Harbor-Patient", 9, 4, 3, 8, ""),
    ("olga.harbor@caredoor.test", "Olga Harbor-Patient", 12, 5, 5, 10, ""),
    ("paul.harbor@caredoor.test", "Paul Harbor-Patient", 15, 3, 3, 6, "The video dropped twice."),
    ("rosa.harbor@caredoor.test", "Rosa Harbor-Patient", 20, 5, 4, 9, ""),
]


def _past_session(
    brand: Brand, patient: User, session_type: SessionType, days_ago: int, hour: int
) -> Booking:
    zone = ZoneInfo(session_type.profile.time_zone or brand.time_zone or "UTC")
    day = timezone.now().astimezone(zone).date() - timedelta(days=days_ago)
    start = datetime.combine(day, time(hour), zone)
    with transaction.atomic():
        writes.lock_specialist(session_type.profile_id)
        booking = new_booking(
            patient=patient,
            brand=brand,
            session_type=session_type,
            start=start,
            status=BookingStatus.CONFIRMED,
            origin=Origin.PATIENT,
            created_by=patient,
        )
        # A session in the past: recorded as it ended (completed), not booked live.
        booking.status = BookingStatus.COMPLETED
        writes.insert([booking])
    return booking


def _patient(email: str, name: str, brand: Brand) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, data.DEMO_PASSWORD, name=name)
    do_grant_membership(user=user, role="patient", network=brand.network, brand=brand)
    return user


def seed_feedback(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    harbor = brands.get("harbor")
    mara = SpecialistProfile.objects.filter(user__email=MARA).first()
    if harbor is None or mara is None:
        return
    if Booking.objects.filter(brand=harbor, profile=mara, status=BookingStatus.COMPLETED).exists():
        return  # seeded before
    follow_up = SessionType.objects.filter(profile=mara, name="Follow-up").first()
    if follow_up is None:
        return
    ana = User.objects.get(email=ANA)
    done = _past_session(harbor, ana, follow_up, days_ago=2, hour=10)
    log(f"completed Ana with Dr. Mara Klein on {done.start:%Y-%m-%d}, feedback due")
    for email, name, days_ago, satisfaction, progress, nps, comment in ANSWERS:
        patient = _patient(email, name, harbor)
        booking = _past_session(harbor, patient, follow_up, days_ago=days_ago, hour=14)
        do_give_feedback(
            booking,
            patient=patient,
            satisfaction=satisfaction,
            progress=progress,
            nps=nps,
            comment=comment,
        )
    log(f"feedback  {len(ANSWERS)} Harbor patients answered after sessions with Dr. Mara Klein")
