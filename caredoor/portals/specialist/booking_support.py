"""What the specialist's booking pages share: the acting profile, its time zone, local
times in and out, the sites a specialist may schedule on, and their patients.

Bookings and availability requests are fetched only through ``core.booking.access``
(scoped to the specialist's own profile: anyone else's answers 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caredoor.core.booking import access
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.booking.queries import busy_intervals
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling import availability
from caredoor.core.scheduling.engine import Slot
from caredoor.core.scheduling.models import SessionType
from caredoor.core.scheduling.queries import session_types_of, zone_of
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.pricing import ListingPrice
from caredoor.core.specialists.queries import is_public_on, listings_of, own_profile
from caredoor.portals.common.access import PortalContext

# How local times read on these pages (weekday, date, 24-hour clock).
WHEN = "D j M Y, H:i"
DAY = "D j M Y"
CLOCK = "H:i"
EN_DASH = "\u2013"
SUGGESTIONS = 8  # free times offered as one-click choices


def profile_of(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile | None:
    return own_profile(request.user, ctx.membership.network_id)


def profile_or_404(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile:
    profile = profile_of(request, ctx)
    if profile is None:
        raise Http404
    return profile


# The zone the specialist's calendar is read in: the slot engine's own fallback.
zone_name = zone_of


def zone_context(profile: SpecialistProfile) -> dict[str, Any]:
    return {"zone": zone_of(profile), "zone_missing": not profile.time_zone}


# --- local times --------------------------------------------------------------------------


def when(value: datetime, zone: str) -> str:
    return date_format(value.astimezone(ZoneInfo(zone)), WHEN)


def period(start: datetime, end: datetime, zone: str) -> str:
    """``Mon 12 Jan 2026, 09:00-12:00`` with an en dash (the end's date only when it differs)."""
    tz = ZoneInfo(zone)
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date():
        return f"{date_format(a, WHEN)}{EN_DASH}{date_format(b, CLOCK)}"
    return f"{date_format(a, WHEN)} {EN_DASH} {date_format(b, WHEN)}"


def local_instant(day: date, at: time, zone: str) -> datetime:
    """The instant of wall-clock ``day`` ``at`` in ``zone`` (UTC).

    A time inside a spring-forward gap does not exist and is refused; a repeated time
    (fall-back) means its first occurrence, as in the slot engine.
    """
    tz = ZoneInfo(zone)
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise ValidationError(
            _("%(time)s does not exist on that day in %(zone)s (the clocks change).")
            % {"time": at.strftime("%H:%M"), "zone": zone},
            code="nonexistent_time",
        )
    return utc


def parse_slot(value: str) -> datetime:
    """A free time chosen from a list: an ISO instant with its offset."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationError(_("Choose one of the free times shown."), code="bad_slot")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class SlotChoice:
    """A free time offered as a button: its value, its label in the specialist's zone, and
    whether it lies inside what the patient asked for."""

    value: str
    label: str
    inside: bool = True


def occurrence_label(occurrence: Any, zone: str) -> str:
    """A planned occurrence of a series: its period, or the intended local start when that
    time does not exist on its day (the clocks change)."""
    if occurrence.start is not None and occurrence.end is not None:
        return period(occurrence.start, occurrence.end, zone)
    return date_format(occurrence.local, WHEN)


@dataclass(frozen=True)
class OccurrenceRow:
    """One planned date of a series as the preview shows it."""

    number: int
    label: str
    conflict: str
    conflicting_booking: int | None
    current: str = ""  # when the series moves: the session's time now


def occurrence_rows(
    occurrences: list[Any], zone: str, *, moving: list[Booking] | None = None
) -> list[OccurrenceRow]:
    """The preview of a new series, or of a move (``moving``: the sessions that move, in
    the order of the occurrences they move to)."""

    def row(occurrence: Any, current: str = "") -> OccurrenceRow:
        return OccurrenceRow(
            occurrence.index + 1,
            occurrence_label(occurrence, zone),
            occurrence.conflict,
            occurrence.conflicting_booking,
            current,
        )

    if moving is None:
        return [row(occurrence) for occurrence in occurrences]
    return [
        row(occurrence, period(old.start, old.end, zone))
        for old, occurrence in zip(moving, occurrences, strict=False)
    ]


def slot_choices(slots: list[Slot], zone: str, inside: Any = None) -> list[SlotChoice]:
    return [
        SlotChoice(
            slot.start.astimezone(UTC).isoformat(),
            period(slot.start, slot.end, zone),
            True if inside is None else inside(slot),
        )
        for slot in slots
    ]


def upcoming_slots(
    session_type: SessionType, zone: str, *, days: int = 21, per_day: int = 2
) -> list[SlotChoice]:
    """The next free times, spread over the days: at most ``per_day`` a day, none
    overlapping the one before (the engine offers every step, which all look alike)."""
    now = timezone.now()
    end = now + timedelta(days=days)
    buffers = timedelta(
        minutes=session_type.buffer_before_minutes + session_type.buffer_after_minutes
    )
    busy = busy_intervals(session_type.profile_id, now - buffers, end + buffers)
    tz = ZoneInfo(zone)
    picked: list[Slot] = []
    per: dict[date, int] = {}
    for slot in availability.free_slots(session_type, start=now, end=end, now=now, busy=busy):
        day = slot.start.astimezone(tz).date()
        if per.get(day, 0) >= per_day or (picked and slot.start < picked[-1].end):
            continue
        per[day] = per.get(day, 0) + 1
        picked.append(slot)
        if len(picked) >= SUGGESTIONS:
            break
    return slot_choices(picked, zone)


def taken_alternatives(
    alternatives: list[Slot], session_type: SessionType, start: datetime, zone: str
) -> list[SlotChoice]:
    """After ``SlotTaken``: free times near the one asked for first, then the next free
    times the action found (from now on)."""
    duration = timedelta(minutes=session_type.duration_minutes)
    near = [
        SlotChoice(c.value, c.label)
        for c in slots_for_windows(session_type, [(start, start + duration)], zone)
    ]
    seen = {choice.value for choice in near}
    rest = [c for c in slot_choices(alternatives, zone) if c.value not in seen]
    return [*near, *rest]


def slots_for_windows(
    session_type: SessionType,
    windows: list[tuple[datetime, datetime]],
    zone: str,
    *,
    near: timedelta = timedelta(hours=3),
    per_window: int = 6,
) -> list[SlotChoice]:
    """Free times inside the patient's periods first; where a period has none, the free
    times within ``near`` of it (marked as outside: they go to the patient as proposals)."""
    now = timezone.now()
    buffers = timedelta(
        minutes=session_type.buffer_before_minutes + session_type.buffer_after_minutes
    )
    chosen: list[SlotChoice] = []
    seen: set[str] = set()
    for a, b in windows:
        if b <= now:
            continue
        start, end = max(a - near, now), b + near
        busy = busy_intervals(session_type.profile_id, start - buffers, end + buffers)
        slots = availability.free_slots(session_type, start=start, end=end, now=now, busy=busy)
        inside = [s for s in slots if a <= s.start and s.end <= b][:per_window]
        picked = inside or sorted(slots, key=lambda s: min(abs(s.start - a), abs(s.end - b)))[:3]
        for choice in slot_choices(
            sorted(picked), zone, inside=lambda s, a=a, b=b: a <= s.start and s.end <= b
        ):
            if choice.value not in seen:
                seen.add(choice.value)
                chosen.append(choice)
    return chosen


# --- sites, patients, session types -------------------------------------------------------


def scheduling_brands(profile: SpecialistProfile) -> list[Brand]:
    """The sites where the specialist may propose and schedule: listed and visible there."""
    brands = [
        item.brand
        for item in listings_of(profile)
        .filter(status=ListingStatus.APPROVED, brand__is_active=True)
        .order_by("brand__name", "brand_id")
    ]
    return [brand for brand in brands if is_public_on(brand, profile)]


def policy_brands(profile: SpecialistProfile) -> list[Brand]:
    """The sites where the specialist may set their own booking rules: where they are
    listed or have asked to be (a withdrawn listing does not count)."""
    return [
        item.brand
        for item in listings_of(profile)
        .exclude(status=ListingStatus.REMOVED)
        .filter(brand__is_active=True)
        .order_by("brand__name", "brand_id")
    ]


def patient_groups(profile: SpecialistProfile, brands: list[Brand]) -> list[tuple[str, list]]:
    """Choices ``"<brand id>:<patient id>"`` grouped by site, for one select."""
    groups = []
    for brand in brands:
        options = [
            (f"{brand.pk}:{patient.pk}", patient.display_name)
            for patient in access.patients_of(profile, brand)
        ]
        if options:
            groups.append((brand.name, options))
    return groups


def own_patient(profile: SpecialistProfile, brand: Brand, patient_id: int) -> Any:
    """One of the specialist's patients on ``brand``, or None."""
    return access.patients_of(profile, brand).filter(pk=patient_id).first()


def session_types(profile: SpecialistProfile) -> list[SessionType]:
    """The session types the specialist offers now (inactive ones cannot be scheduled)."""
    return list(session_types_of(profile).filter(is_active=True).select_related("profile"))


def session_type_label(session_type: SessionType) -> str:
    label = _("%(name)s (%(minutes)s minutes)") % {
        "name": session_type.name,
        "minutes": session_type.duration_minutes,
    }
    notes = []
    if not session_type.direct_booking:
        notes.append(_("by invitation only"))
    if session_type.brand_id:
        notes.append(_("only on %(site)s") % {"site": session_type.brand.name})
    return " · ".join([label, *notes])


# --- bookings as the pages show them ------------------------------------------------------


def price_text(booking: Booking) -> str:
    if booking.price_minor is None:
        return _("No charge to the patient")
    return ListingPrice(booking.price_minor, booking.currency, False, "booking").display


STATUS_BADGE = {
    BookingStatus.CONFIRMED: "badge--ok",
    BookingStatus.COMPLETED: "badge--ok",
    BookingStatus.PROPOSED: "badge--info",
    BookingStatus.PENDING_PAYMENT: "badge--warn",
    BookingStatus.NO_SHOW: "badge--warn",
    BookingStatus.CANCELLED_BY_PATIENT: "badge--danger",
    BookingStatus.CANCELLED_BY_SPECIALIST: "badge--danger",
    BookingStatus.DECLINED: "badge--danger",
    BookingStatus.EXPIRED: "",
    BookingStatus.RESCHEDULED: "",
}

# A proposal's answer, as the specialist reads it.
AWAITING = "awaiting"
ACCEPTED = "accepted"
AWAITING_PAYMENT = "awaiting_payment"
DECLINED = "declined"
EXPIRED = "expired"
WITHDRAWN = "withdrawn"
RESPONSE_LABELS = {
    AWAITING: gettext_lazy("Awaiting the patient's answer"),
    ACCEPTED: gettext_lazy("Accepted"),
    AWAITING_PAYMENT: gettext_lazy("Accepted, waiting for payment"),
    DECLINED: gettext_lazy("Declined"),
    EXPIRED: gettext_lazy("Expired without an answer"),
    WITHDRAWN: gettext_lazy("Withdrawn by you"),
}
RESPONSE_BADGE = {
    AWAITING: "badge--info",
    ACCEPTED: "badge--ok",
    AWAITING_PAYMENT: "badge--warn",
    DECLINED: "badge--danger",
    EXPIRED: "",
    WITHDRAWN: "",
}


def proposal_response(booking: Booking) -> str:
    """How the patient answered a proposal ('' when the booking was not one)."""
    status = booking.status
    if status == BookingStatus.PROPOSED:
        return AWAITING
    if status == BookingStatus.DECLINED:
        return DECLINED
    if status == BookingStatus.EXPIRED:
        return EXPIRED
    if booking.responded_at is not None:
        return AWAITING_PAYMENT if status == BookingStatus.PENDING_PAYMENT else ACCEPTED
    if status == BookingStatus.CANCELLED_BY_SPECIALIST and booking.origin == "proposal":
        return WITHDRAWN
    return ""
