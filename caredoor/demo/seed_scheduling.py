"""Demo scheduling: session types, weekly hours with a lunch break, holidays, brand
policies, and a few bookings, proposals and requests for the demo patients.

Times are relative to the moment of seeding (the demo always has upcoming sessions) and
every write goes through the actions, so the demo obeys the same rules as real use.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from caredoor.core.accounts.models import User
from caredoor.core.booking import proposals, requests
from caredoor.core.booking.actions import do_book, next_free_slots
from caredoor.core.booking.models import Booking, BookingPolicy, SelfBooking
from caredoor.core.booking.policy_actions import do_save_brand_policy
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.specialists.choices import ProfileStatus
from caredoor.core.specialists.models import SpecialistProfile

# Monday to Friday, a lunch break between the two periods (the gap is the break).
HOURS = [(time(9), time(12, 30)), (time(13, 30), time(17))]
SESSION_TYPES = [
    # name, minutes, buffer after, patients may book directly
    ("Intake", 50, 10, True),
    ("Follow-up", 50, 10, True),
    ("Short check-in", 25, 5, False),
]
BRAND_POLICIES = {
    "harbor": {},  # the defaults: free cancellation until 24 h before, 50 % later
    "steadypath": {"self_booking": SelfBooking.FIRST_ONLY, "cancel_notice_hours": 48},
    "northwind": {"reminder_offsets_minutes": [24 * 60, 2 * 60]},
}


def _holidays(today: date) -> list[date]:
    year = today.year if today.month < 12 or today.day < 24 else today.year + 1
    return [date(year, 12, 24), date(year, 12, 25), date(year, 12, 26), date(year + 1, 1, 1)]


def _schedule(profile: SpecialistProfile) -> None:
    if SessionType.objects.filter(profile=profile).exists():
        return
    for name, minutes, buffer, direct in SESSION_TYPES:
        SessionType.objects.create(
            profile=profile,
            name=name,
            duration_minutes=minutes,
            buffer_after_minutes=buffer,
            min_notice_minutes=12 * 60,
            horizon_days=60,
            slot_step_minutes=30,
            direct_booking=direct,
        )
    for weekday in range(5):
        for start, end in HOURS:
            AvailabilityRule.objects.create(
                profile=profile, weekday=weekday, start_time=start, end_time=end
            )
    zone_today = timezone.now().astimezone(ZoneInfo(profile.time_zone or "UTC")).date()
    for day in _holidays(zone_today):
        DateOverride.objects.create(profile=profile, day=day, windows=[], note="Holiday")


def _demo_bookings(brands: dict[str, Brand], log) -> None:  # type: ignore[no-untyped-def]
    if Booking.objects.exists():
        return
    ana = User.objects.get(email="ana.patient@caredoor.test")
    mara = SpecialistProfile.objects.get(user__email="mara.klein@caredoor.test")
    intake = SessionType.objects.get(profile=mara, name="Intake")
    follow_up = SessionType.objects.get(profile=mara, name="Follow-up")
    free = next_free_slots(intake, limit=40)
    if len(free) < 40:
        return
    booked = do_book(patient=ana, brand=brands["harbor"], session_type=intake, start=free[2].start)
    log(
        f"booking   Ana with Dr. Mara Klein on {brands['harbor'].name}"
        f" at {booked.start:%Y-%m-%d %H:%M} UTC"
    )
    proposal = proposals.do_propose(
        actor=mara.user,
        brand=brands["harbor"],
        patient=ana,
        session_type=follow_up,
        start=free[-1].start,
    )
    log(f"proposal  Dr. Mara Klein -> Ana, answer by {proposal.expires_at:%Y-%m-%d %H:%M} UTC")
    jonas = SpecialistProfile.objects.get(user__email="jonas.berg@caredoor.test")
    jonas_intake = SessionType.objects.get(profile=jonas, name="Intake")
    zone = ZoneInfo(jonas.time_zone or "UTC")
    day = timezone.now().astimezone(zone).date() + timedelta(days=3)
    while day.weekday() > 4:
        day += timedelta(days=1)
    requests.do_request_availability(
        patient=ana,
        brand=brands["harbor"],
        session_type=jonas_intake,
        preferred=[
            (datetime.combine(day, time(9), zone), datetime.combine(day, time(12), zone)),
        ],
    )
    log("request   Ana asks Jonas Berg for a morning")


def seed_scheduling(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    for slug, values in BRAND_POLICIES.items():
        exists = BookingPolicy.objects.filter(brand__slug=slug, profile__isnull=True).exists()
        if slug in brands and values and not exists:
            do_save_brand_policy(brands[slug], values, actor=None, role="")
    for profile in SpecialistProfile.objects.filter(
        network=brands["harbor"].network, status=ProfileStatus.APPROVED
    ):
        _schedule(profile)
    _demo_bookings(brands, log)
