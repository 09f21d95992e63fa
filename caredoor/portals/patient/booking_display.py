"""What the patient's booking pages show: times in the viewer's zone, weeks of free times,
the booking policy in words. No state changes here (those are the booking actions).

The viewer's zone: a signed-in patient's own ``time_zone`` (switching it on these pages
saves it on the account), for everyone else the zone they chose in this session, else their
account's, else the brand's. Every page names the zone it shows times in, with its
abbreviation(s) for the dates shown ("Europe/Berlin (CEST / CET)" in the week the clocks go
back).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from caredoor.core.accounts.policy import Portal
from caredoor.core.accounts.queries import portal_memberships
from caredoor.core.booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from caredoor.core.booking.policy import DEFAULTS
from caredoor.core.booking.queries import busy_intervals
from caredoor.core.scheduling import availability, engine
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.pricing import ListingPrice

ZONE_SESSION_KEY = "caredoor.viewer_zone"

# --- the viewer's zone ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: str | None) -> bool:
    return bool(name) and name in known_zones()


def is_patient_here(request: HttpRequest) -> bool:
    user = request.user
    brand = getattr(request, "brand", None)
    return bool(user.is_authenticated and brand and portal_memberships(user, brand, Portal.PATIENT))


def viewer_zone_name(request: HttpRequest) -> str:
    user = request.user
    brand = getattr(request, "brand", None)
    candidates: list[str | None] = []
    if not is_patient_here(request):
        candidates.append(request.session.get(ZONE_SESSION_KEY))
    if user.is_authenticated:
        candidates.append(user.time_zone)  # type: ignore[union-attr]
    candidates.append(brand.time_zone if brand else None)
    return next((c for c in candidates if is_zone(c)), "UTC")


def zone_title(name: str) -> str:
    return name.replace("_", " ")


def abbreviation(moment: datetime, zone: ZoneInfo) -> str:
    """``CET``; zones without a letter abbreviation get their offset (``UTC+04:00``)."""
    local = moment.astimezone(zone)
    name = local.tzname() or ""
    if name and name[0] not in "+-":
        return name
    return utc_offset(local)


def utc_offset(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class ClockChange:
    day: date  # the local day the offset changes
    before: str
    after: str
    forward: bool


@dataclass(frozen=True)
class ZoneLabel:
    name: str  # IANA name
    abbreviations: tuple[str, ...]
    changes: tuple[ClockChange, ...] = ()

    @property
    def text(self) -> str:
        """``Europe/Berlin (CET)``, ``Europe/Berlin (CEST / CET)``."""
        return f"{zone_title(self.name)} ({' / '.join(self.abbreviations)})"

    def __str__(self) -> str:
        return self.text


def zone_label(name: str, first: datetime, last: datetime | None = None) -> ZoneLabel:
    """The zone's name with its abbreviations from ``first`` to ``last`` (at most a few
    weeks: checked at every local midnight), and the clock changes in between."""
    zone = ZoneInfo(name)
    last = last or first
    abbreviations: list[str] = []
    changes: list[ClockChange] = []
    moment = first
    previous: datetime | None = None
    while True:
        local = moment.astimezone(zone)
        abbr = abbreviation(moment, zone)
        if abbr not in abbreviations:
            abbreviations.append(abbr)
        if previous is not None and previous.utcoffset() != local.utcoffset():
            changes.append(
                ClockChange(
                    day=local.date(),
                    before=abbreviation(previous, zone),
                    after=abbr,
                    forward=(local.utcoffset() or timedelta(0))
                    > (previous.utcoffset() or timedelta(0)),
                )
            )
        previous = local
        if moment >= last:
            break
        following = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
        moment = min(following.astimezone(UTC), last)
    return ZoneLabel(name, tuple(abbreviations), tuple(changes))


# --- dates in words --------------------------------------------------------------------------


def _format(value: datetime | date, fmt: str) -> str:
    return dateformat.format(value, fmt)


def when(moment: datetime, zone: ZoneInfo, *, now: datetime | None = None) -> str:
    """``Mon 23 Nov, 09:00`` in ``zone`` (with the year when it is not this year's)."""
    local = moment.astimezone(zone)
    this_year = (now or timezone.now()).astimezone(zone).year
    if local.year == this_year:
        return _format(local, pgettext("date format: a session's day and time", "D j M, H:i"))
    return _format(
        local, pgettext("date format: a session's day and time, other year", "D j M Y, H:i")
    )


def day_title(day: date) -> str:
    return _format(day, pgettext("date format: a day's heading", "l j F"))


def short_day(day: date) -> str:
    return _format(day, pgettext("date format: a short day", "D j M"))


def week_title(monday: date, today: date) -> str:
    """``Mon 23 Nov to Sun 29 Nov``, with the year when the week is not in this one."""
    sunday = monday + timedelta(days=6)
    last = short_day(sunday)
    if sunday.year != today.year:
        last = _format(sunday, pgettext("date format: a short day with the year", "D j M Y"))
    return _("%(first)s to %(last)s") % {"first": short_day(monday), "last": last}


def clock(moment: datetime, zone: ZoneInfo) -> str:
    return _format(moment.astimezone(zone), "H:i")


def clock_change_text(change: ClockChange) -> str:
    if change.forward:
        return _(
            "The clocks go forward on %(day)s: times from then on are in %(after)s, "
            "before in %(before)s."
        ) % {"day": day_title(change.day), "after": change.after, "before": change.before}
    return _(
        "The clocks go back on %(day)s: times from then on are in %(after)s, before in %(before)s."
    ) % {"day": day_title(change.day), "after": change.after, "before": change.before}


def minutes_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


# --- local times typed by the patient --------------------------------------------------------


def aware_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of the wall-clock time ``day at`` in ``zone``; ValidationError for a
    time the clocks skip (spring forward) or pass twice (fall back)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        values = {
            "time": _format(naive, "H:i"),
            "day": short_day(day),
            "zone": zone_title(str(zone.key)),
        }
        round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != naive:
            raise ValidationError(
                _(
                    "%(time)s on %(day)s does not exist in %(zone)s: the clocks go forward "
                    "then. Choose another time."
                )
                % values,
                code="nonexistent_time",
            )
        raise ValidationError(
            _(
                "%(time)s on %(day)s happens twice in %(zone)s: the clocks go back then. "
                "Choose a time outside that hour."
            )
            % values,
            code="ambiguous_time",
        )
    return first.astimezone(UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


# --- a week of free times --------------------------------------------------------------------


@dataclass(frozen=True)
class SlotView:
    start: datetime  # UTC
    value: str  # what a form sends back: the UTC start in ISO 8601
    time: str  # 09:00 in the viewer's zone
    when: str  # Mon 23 Nov, 09:00
    is_next: bool = False
    is_current: bool = False  # the booking's own time (rescheduling)


@dataclass
class DayView:
    day: date
    title: str
    past: bool = False
    slots: list[SlotView] = field(default_factory=list)


@dataclass
class WeekView:
    monday: date
    days: list[DayView]
    label: ZoneLabel
    title: str  # Mon 23 Nov to Sun 29 Nov
    previous: date | None
    following: date | None
    next_slot: SlotView | None  # the next available time, any week
    next_slot_week: date | None

    @property
    def count(self) -> int:
        return sum(len(d.slots) for d in self.days)

    @property
    def clock_changes(self) -> list[str]:
        return [clock_change_text(c) for c in self.label.changes]


def slot_value(start: datetime) -> str:
    return start.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_start(value: str | None) -> datetime | None:
    """An aware UTC start from a form, or None for anything else."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.astimezone(UTC)


def parse_week(value: str | None) -> date | None:
    if not value or len(value) > 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _busy(
    session_type: SessionType, start: datetime, end: datetime, ignore: Booking | None
) -> list[engine.Busy]:
    buffers = timedelta(
        minutes=session_type.buffer_before_minutes + session_type.buffer_after_minutes
    )
    busy = busy_intervals(session_type.profile_id, start - buffers, end + buffers)
    if ignore is not None:
        # Rescheduling: the booking's own time is free for it (the action moves it in one
        # transaction). Only that booking can have exactly its times: none overlap.
        busy = [b for b in busy if not (b.start == ignore.start and b.end == ignore.end)]
    return busy


def free_between(
    session_type: SessionType,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    ignore: Booking | None = None,
) -> list[engine.Slot]:
    return availability.free_slots(
        session_type,
        start=start,
        end=end,
        now=now,
        busy=_busy(session_type, start, end, ignore),
    )


def first_free(
    session_type: SessionType, *, now: datetime, ignore: Booking | None = None
) -> engine.Slot | None:
    """The next free slot within the horizon: a short look first, the whole horizon after."""
    horizon = now + timedelta(days=session_type.horizon_days, minutes=session_type.duration_minutes)
    start = now
    for days in (8, 35, session_type.horizon_days + 1):
        end = min(now + timedelta(days=days), horizon)
        if end <= start:
            continue
        for slot in free_between(session_type, start, end, now=now, ignore=ignore):
            if ignore is None or slot.start != ignore.start:
                return slot
        start = end
        if end >= horizon:
            break
    return None


def is_free(
    session_type: SessionType, start: datetime, *, now: datetime, ignore: Booking | None = None
) -> bool:
    duration = timedelta(minutes=session_type.duration_minutes)
    slots = free_between(
        session_type,
        start - timedelta(days=1),
        start + timedelta(days=1) + duration,
        now=now,
        ignore=ignore,
    )
    return any(slot.start == start for slot in slots)


def _slot_view(
    slot_start: datetime,
    zone: ZoneInfo,
    now: datetime,
    *,
    next_start: datetime | None = None,
    current: datetime | None = None,
) -> SlotView:
    return SlotView(
        start=slot_start,
        value=slot_value(slot_start),
        time=clock(slot_start, zone),
        when=when(slot_start, zone, now=now),
        is_next=slot_start == next_start,
        is_current=slot_start == current,
    )


def slot_views(slots: Iterable[engine.Slot], zone: ZoneInfo, now: datetime) -> list[SlotView]:
    return [_slot_view(s.start, zone, now) for s in slots]


def week_of_slots(
    session_type: SessionType,
    *,
    zone_name: str,
    week: date | None,
    now: datetime,
    ignore: Booking | None = None,
) -> WeekView:
    """The free times of the week (Monday to Sunday in the viewer's zone) that starts on
    ``week``'s Monday; without ``week``, the week of the next available time."""
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    first_monday = monday_of(today)
    last_day = (now + timedelta(days=session_type.horizon_days)).astimezone(zone).date()
    last_monday = monday_of(last_day)
    next_free = first_free(session_type, now=now, ignore=ignore)
    next_week = monday_of(next_free.start.astimezone(zone).date()) if next_free else None
    monday = monday_of(week) if week else (next_week or first_monday)
    monday = min(max(monday, first_monday), last_monday)
    start = local_midnight(monday, zone)
    end = local_midnight(monday + timedelta(days=7), zone)
    days = [
        DayView(day=day, title=short_day(day), past=day < today)
        for day in (monday + timedelta(days=i) for i in range(7))
    ]
    current = ignore.start if ignore is not None else None
    free = free_between(session_type, start, end, now=now, ignore=ignore)
    slot_starts = {s.start for s in free}
    if current is not None and start <= current < end:
        slot_starts.add(current)  # the booking's own time: shown, not offered
    for slot_start in sorted(slot_starts):
        local_day = slot_start.astimezone(zone).date()
        index = (local_day - monday).days
        if 0 <= index < 7:
            days[index].slots.append(
                _slot_view(
                    slot_start,
                    zone,
                    now,
                    next_start=next_free.start if next_free else None,
                    current=current,
                )
            )
    return WeekView(
        monday=monday,
        days=days,
        label=zone_label(zone_name, start, end - timedelta(seconds=1)),
        title=week_title(monday, today),
        previous=monday - timedelta(days=7) if monday > first_monday else None,
        following=monday + timedelta(days=7) if monday < last_monday else None,
        next_slot=_slot_view(next_free.start, zone, now, next_start=next_free.start)
        if next_free
        else None,
        next_slot_week=next_week,
    )


# --- policy and price in words ---------------------------------------------------------------


def _value(policy: dict[str, Any], key: str) -> int:
    value = policy.get(key)
    return int(value if value is not None else DEFAULTS[key])


def policy_lines(
    policy: dict[str, Any], start: datetime, zone: ZoneInfo, *, now: datetime | None = None
) -> list[str]:
    """The cancellation, no-show and rescheduling terms of a session at ``start``; with
    ``now``, as they stand then (a deadline already passed is said so, not shown as a past
    time), without it as they were agreed."""
    cancel_hours = _value(policy, "cancel_notice_hours")
    late_fee = _value(policy, "late_cancel_fee_percent")
    no_show_fee = _value(policy, "no_show_fee_percent")
    move_hours = _value(policy, "reschedule_notice_hours")
    lines = []
    if late_fee == 0:
        lines.append(_("You can cancel free of charge until the session starts."))
    elif now is not None and start - timedelta(hours=cancel_hours) <= now:
        lines.append(
            _("The free cancellation window has passed: cancelling is charged %(fee)s.")
            % {"fee": percent(late_fee)}
        )
    else:
        lines.append(
            ngettext(
                "Free cancellation until %(n)s hour before (%(when)s); later cancellations "
                "are charged %(fee)s.",
                "Free cancellation until %(n)s hours before (%(when)s); later cancellations "
                "are charged %(fee)s.",
                cancel_hours,
            )
            % {
                "n": cancel_hours,
                "when": when(start - timedelta(hours=cancel_hours), zone),
                "fee": percent(late_fee),
            }
        )
    if no_show_fee == 0:
        lines.append(_("A missed session is not charged."))
    else:
        lines.append(_("A missed session is charged %(fee)s.") % {"fee": percent(no_show_fee)})
    if now is not None and start - timedelta(hours=move_hours) <= now:
        lines.append(_("The session can no longer be moved; you can still cancel it."))
        return lines
    lines.append(
        ngettext(
            "You can move the session until %(n)s hour before (%(when)s).",
            "You can move the session until %(n)s hours before (%(when)s).",
            move_hours,
        )
        % {"n": move_hours, "when": when(start - timedelta(hours=move_hours), zone)}
    )
    return lines


def percent(value: int) -> str:
    """``50 %`` with a space that never breaks the number from its sign."""
    return f"{value}\u00a0%"


def money(amount_minor: int, currency: str) -> str:
    return ListingPrice(amount_minor, currency, covered=False, source="").display


def booking_price(booking: Booking) -> str:
    """The price the booking keeps (a snapshot); empty price: covered or on request."""
    if booking.price_minor is not None:
        return money(booking.price_minor, booking.currency)
    brand = booking.brand
    covered = brand.pricing_mode == "brand_fixed" and not brand.fixed_price_minor
    return ListingPrice(None, booking.currency, covered=covered, source="").display


# --- statuses --------------------------------------------------------------------------------


def lapsed(booking: Booking, now: datetime) -> bool:
    """A proposal or payment window whose time is up (the expiry job may not have run)."""
    return (
        booking.status in (BookingStatus.PROPOSED, BookingStatus.PENDING_PAYMENT)
        and booking.expires_at is not None
        and now >= booking.expires_at
    )


def status_label(booking: Booking, now: datetime) -> str:
    if lapsed(booking, now):
        return str(BookingStatus.EXPIRED.label)
    if booking.status == BookingStatus.PROPOSED:
        return _("Waiting for your answer")
    if booking.status == BookingStatus.CONFIRMED and booking.end <= now:
        return _("Took place")
    return str(BookingStatus(booking.status).label)


def status_tone(booking: Booking, now: datetime) -> str:
    """A badge modifier: ok, warn, error or '' (neutral)."""
    if lapsed(booking, now):
        return ""
    if booking.status == BookingStatus.CONFIRMED:
        return "ok"
    if booking.status in (BookingStatus.PROPOSED, BookingStatus.PENDING_PAYMENT):
        return "warn"
    if booking.status in (
        BookingStatus.CANCELLED_BY_PATIENT,
        BookingStatus.CANCELLED_BY_SPECIALIST,
        BookingStatus.NO_SHOW,
    ):
        return "error"
    return ""


def is_upcoming(booking: Booking, now: datetime) -> bool:
    return booking.status in ACTIVE_STATUSES and booking.end > now and not lapsed(booking, now)


def specialist_name(booking_or_profile: Any) -> str:
    profile = getattr(booking_or_profile, "profile", booking_or_profile)
    published = getattr(profile, "published", None)
    return (
        (published.data.get("display_name", "") if published else "")
        or profile.display_name
        or _("Specialist")
    )
