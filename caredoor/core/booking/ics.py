"""iCalendar output: the specialist's subscription feed and the invites sent with emails.

Both describe a booking as one VEVENT with the same UID (``booking-<pk>@caredoor``), so a
calendar that received an invite and later reads the feed (or a CANCEL) updates one event.
``SEQUENCE`` is derived from the booking's last change (seconds since it was made) and how
far its status is along the lifecycle, so every change -- a confirmation, a cancellation,
the old half of a reschedule -- carries a higher number than what was sent before it, with
no counter to keep.

Times are written as wall-clock times with ``TZID`` of the reader's zone (the specialist's
for the feed and their invites, the patient's for theirs) and a matching ``VTIMEZONE``
built here from zoneinfo for the years the events span, one observance per clock change.
The one instant a local time cannot name -- the second pass through the hour repeated when
clocks fall back, which a ``TZID`` time always reads as the first -- is written in UTC.

Privacy: calendars leave the platform (Google, Outlook, Apple). The specialist's events
carry the session type's name and the patient's initials, a link back to the portal and
"online session": no full name, no email address, no notes, no reason for a cancellation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import (
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDuration,
    vText,
)

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.queries import public_name

Recipient = Literal["patient", "specialist"]
Method = Literal["REQUEST", "CANCEL"]

PRODID = "-//Caredoor//Caredoor calendars//EN"
FEED_PAST_DAYS = 30  # the feed shows bookings from this many days back, and all ahead
REFRESH = timedelta(minutes=15)  # how often calendar apps are asked to read the feed again

S = BookingStatus
CONFIRMED_STATUSES = frozenset({S.CONFIRMED, S.COMPLETED, S.NO_SHOW})
TENTATIVE_STATUSES = frozenset({S.PROPOSED, S.PENDING_PAYMENT})
# Everything else (rescheduled, cancelled by either side, expired, declined) no longer
# happens: STATUS:CANCELLED, so subscribed calendars drop the event.


# --- what every event shares ------------------------------------------------------------


def event_uid(booking: Booking) -> str:
    return f"booking-{booking.pk}@caredoor"


def last_change(booking: Booking) -> datetime:
    stamps = [booking.updated_at, booking.status_changed_at, booking.cancelled_at]
    return max(s for s in stamps if s is not None)


# How far along the lifecycle a status is: every transition (lifecycle.TRANSITIONS) goes
# deeper, so two changes within one second still get different sequence numbers.
DEPTH = {S.PROPOSED: 0, S.PENDING_PAYMENT: 1, S.CONFIRMED: 2}  # final states: 3
MAX_SEQUENCE = 2**31 - 1  # iCalendar INTEGER


def event_sequence(booking: Booking) -> int:
    """Grows with every change of the booking: whole seconds from creation to the last
    change, times four, plus the status's depth (0-3)."""
    seconds = max(0, int((last_change(booking) - booking.created_at).total_seconds()))
    return min(seconds * 4 + DEPTH.get(booking.status, 3), MAX_SEQUENCE)


def event_status(booking: Booking) -> str:
    if booking.status in CONFIRMED_STATUSES:
        return "CONFIRMED"
    if booking.status in TENTATIVE_STATUSES:
        return "TENTATIVE"
    return "CANCELLED"


def zone(key: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(key or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _in_zone(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``start`` and ``end`` as wall-clock times in ``tz`` -- or both in UTC when either is
    the second pass through a repeated hour, which ``TZID`` cannot express."""
    local = (start.astimezone(tz), end.astimezone(tz))
    # Compared in UTC: Python never finds an ambiguous local time equal to another zone's.
    if all(_utc(value.replace(fold=0)) == _utc(value) for value in local):
        return local
    return _utc(start), _utc(end)


Observed = tuple[timedelta, timedelta, str]  # UTC offset, daylight saving, abbreviation
SCAN_STEP = 6 * 3600  # seconds: no zone changes its clocks twice within six hours


def _observed(tz: ZoneInfo, at: int) -> Observed:
    local = datetime.fromtimestamp(at, UTC).astimezone(tz)
    return local.utcoffset() or timedelta(0), local.dst() or timedelta(0), local.tzname() or ""


def clock_changes(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[int, Observed]]:
    """Every change of ``tz``'s offset, daylight saving or abbreviation in ``[start, end)``:
    (UTC timestamp of the change, what is observed from then on), found by scanning and
    bisecting to the second, since zoneinfo does not list its transitions."""
    changes = []
    at, stop = int(start.timestamp()), int(end.timestamp())
    current = _observed(tz, at)
    while at < stop:
        ahead = min(at + SCAN_STEP, stop)
        if _observed(tz, ahead) == current:
            at = ahead
            continue
        low, high = at, ahead  # current at low, something else at high
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if _observed(tz, middle) == current else (low, middle)
        current = _observed(tz, high)
        changes.append((high, current))
        at = high
    return changes


def _observance(onset: datetime, before: Observed, after: Observed) -> Component:
    """STANDARD or DAYLIGHT from ``before`` to ``after``. The tz database gives some zones
    a negative saving in winter (Europe/Dublin, Africa/Casablanca in Ramadan); leaving it
    is summer time as people see it, so that is DAYLIGHT and the negative one STANDARD."""
    summer = after[1] > timedelta(0) or (
        after[1] == timedelta(0) and before[1] < timedelta(0) and after[0] > before[0]
    )
    observance = TimezoneDaylight() if summer else TimezoneStandard()
    observance.add("dtstart", onset)
    observance.add("tzname", after[2])
    observance.add("tzoffsetfrom", before[0])
    observance.add("tzoffsetto", after[0])
    return observance


@lru_cache(maxsize=128)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """A VTIMEZONE for ``tzid`` from zoneinfo (first_year to last_year), with one
    observance per clock change, each with nothing but its DTSTART: the form every reader
    takes alike. (icalendar's ``Timezone.from_tzid`` puts later changes into RDATE lists,
    which vobject reads only the first value of, and in icalendar 7.3 it misses Morocco's
    2027 Ramadan changes.) The onset is local time before the change (RFC 5545 3.6.5)."""
    tz = ZoneInfo(tzid)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    first = _observed(tz, int(start.timestamp()))
    vtimezone = Timezone()
    vtimezone.add("tzid", tzid)
    vtimezone.add_component(_observance((start + first[0]).replace(tzinfo=None), first, first))
    before = first
    for at, after in clock_changes(tz, start, end):
        onset = datetime.fromtimestamp(at, UTC) + before[0]
        vtimezone.add_component(_observance(onset.replace(tzinfo=None), before, after))
        before = after
    return vtimezone.to_ical()


def _calendar(
    events: list[Event], used: dict[str, tuple[int, int]], *, method: str = ""
) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    for tzid, (first, last) in sorted(used.items()):
        calendar.add_component(Timezone.from_ical(_vtimezone(tzid, first - 1, last + 1)))
    for event in events:
        calendar.add_component(event)
    return calendar


def _add_times(
    event: Event, booking: Booking, tz: ZoneInfo, used: dict[str, tuple[int, int]]
) -> None:
    start, end = _in_zone(booking.start, booking.end, tz)
    event.add("dtstart", start)
    event.add("dtend", end)
    if start.tzinfo is tz and tz.key != "UTC":
        first, last = used.get(tz.key, (start.year, end.year))
        used[tz.key] = (min(first, start.year), max(last, end.year))


def _origin(brand: Brand) -> str:
    """``https://host`` of the brand's primary domain (the port in development)."""
    domains = list(brand.domains.all())  # prefetched where it matters
    host = next((d.host for d in domains if d.is_primary), domains[0].host if domains else "")
    if settings.CONFIG.production:
        return f"https://{host}"
    return f"http://{host}:{settings.CONFIG.port}"


def _portal_path(booking: Booking, portal: Recipient) -> str:
    """The booking's page in the portal; the portal's calendar or home until there is one."""
    candidates = [(f"{portal}:booking", [booking.pk])]
    if portal == "specialist":
        candidates.append(("specialist:calendar", []))
    candidates.append((f"{portal}:dashboard", []))
    for name, args in candidates:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return "/"


def booking_link(booking: Booking, portal: Recipient) -> str:
    return _origin(booking.brand) + _portal_path(booking, portal)


def initials(name: str) -> str:
    """``"Jane van Doe"`` -> ``"J. D."``: first and last word; nothing for an empty name."""
    words = [w for w in re.split(r"[\s\-]+", name.strip()) if w[:1].isalpha()]
    if not words:
        return ""
    picked = words if len(words) == 1 else [words[0], words[-1]]
    return " ".join(f"{w[0].upper()}." for w in picked)


def specialist_summary(booking: Booking) -> str:
    """``"Intake · J. D."``: the session type and the patient's initials, never the name."""
    letters = initials(booking.patient.name)
    name = booking.session_type.name
    return f"{name} · {letters}" if letters else name


def specialist_name(profile: SpecialistProfile) -> str:
    return public_name(profile)


def patient_summary(booking: Booking) -> str:
    return _("%(session)s with %(specialist)s (%(brand)s)") % {
        "session": booking.session_type.name,
        "specialist": specialist_name(booking.profile),
        "brand": booking.brand.name,
    }


def location(booking: Booking) -> str:
    return _("Online session (%(brand)s)") % {"brand": booking.brand.name}


def _event(booking: Booking, *, summary: str, link: str, description: str) -> Event:
    event = Event()
    event.add("uid", event_uid(booking))
    event.add("sequence", event_sequence(booking))
    event.add("created", _utc(booking.created_at))
    event.add("last-modified", _utc(last_change(booking)))
    event.add("summary", summary)
    event.add("location", location(booking))
    event.add("description", description)
    event.add("url", link)
    event.add("status", event_status(booking))
    event.add("transp", "TRANSPARENT" if event_status(booking) == "CANCELLED" else "OPAQUE")
    return event


def _language(brand: Brand, preferred: str) -> str:
    return preferred if preferred in brand.languages else brand.default_language


# --- the feed -----------------------------------------------------------------------------


def feed_bookings(profile: SpecialistProfile, *, now: datetime):  # type: ignore[no-untyped-def]
    """Every booking of ``profile`` on any brand that ends after ``FEED_PAST_DAYS`` ago."""
    return (
        Booking.objects.filter(profile=profile, end__gt=now - timedelta(days=FEED_PAST_DAYS))
        .select_related("brand", "session_type", "patient")
        .prefetch_related("brand__domains")
        .order_by("start", "pk")
    )


def specialist_feed(
    profile: SpecialistProfile, *, now: datetime, brand: Brand | None = None
) -> bytes:
    """The specialist's subscription calendar: their bookings on every brand of the network
    from ``FEED_PAST_DAYS`` before ``now`` on. Active and held sessions are CONFIRMED or
    TENTATIVE, completed and no-shows stay CONFIRMED, and bookings that will not happen
    (cancelled, rescheduled, expired, declined) are CANCELLED under the same UID, so
    subscribed calendars drop them. ``brand`` (the host the feed is read on) names it."""
    tz = zone(profile.time_zone)
    site = brand or profile.registered_on
    with translation.override(_language(site, profile.user.language)):
        used: dict[str, tuple[int, int]] = {}
        events = []
        for booking in feed_bookings(profile, now=now):
            link = booking_link(booking, "specialist")
            event = _event(
                booking,
                summary=specialist_summary(booking),
                link=link,
                description=_("Open this booking in your specialist portal: %(link)s")
                % {"link": link},
            )
            # Outside an iTIP message DTSTAMP is when the event was last revised; it keeps
            # the feed's bytes the same until something changes (ETags work).
            event.add("dtstamp", _utc(last_change(booking)))
            _add_times(event, booking, tz, used)
            event.add("class", "PRIVATE")
            events.append(event)
        calendar = _calendar(events, used)
        name = _("Sessions (%(site)s)") % {"site": site.name}
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", tz.key)
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH))
    return calendar.to_ical()


# --- invites ------------------------------------------------------------------------------


def sender_address() -> str:
    """The address brand emails are sent from (the brand's name goes in front of it)."""
    return settings.DEFAULT_FROM_EMAIL.split("<")[-1].rstrip(">").strip()


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def recipient_zone(booking: Booking, recipient: Recipient) -> ZoneInfo:
    if recipient == "patient":
        return zone(
            booking.patient_time_zone or booking.patient.time_zone or booking.brand.time_zone
        )
    return zone(booking.profile.time_zone)


def booking_invite(
    booking: Booking,
    *,
    recipient: Recipient,
    method: Method,
    now: datetime | None = None,
) -> bytes:
    """An iTIP message (RFC 5546) about ``booking`` for one recipient: ``REQUEST`` adds or
    updates the event, ``CANCEL`` removes it. In the recipient's zone and language, with the
    brand's sender address as ORGANIZER and the recipient as the only ATTENDEE (no RSVP:
    answers go through the portal). Make a CANCEL after the booking's status changed, so
    its SEQUENCE is above the REQUEST's."""
    if recipient not in ("patient", "specialist"):
        raise ValueError(f"recipient must be 'patient' or 'specialist', not {recipient!r}")
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be 'REQUEST' or 'CANCEL', not {method!r}")
    person = booking.patient if recipient == "patient" else booking.profile.user
    with translation.override(_language(booking.brand, person.language)):
        link = booking_link(booking, recipient)
        if recipient == "patient":
            summary = patient_summary(booking)
            description = _("Your booking: %(link)s") % {"link": link}
        else:
            summary = specialist_summary(booking)
            description = _("Open this booking in your specialist portal: %(link)s") % {
                "link": link
            }
        event = _event(booking, summary=summary, link=link, description=description)
        if method == "CANCEL":
            event["status"] = vText("CANCELLED")
            event["transp"] = vText("TRANSPARENT")
        event.add("dtstamp", _utc(now or timezone.now()))
        used: dict[str, tuple[int, int]] = {}
        _add_times(event, booking, recipient_zone(booking, recipient), used)
        event.add("organizer", _address(sender_address(), booking.brand.name))
        confirmed = event_status(booking) == "CONFIRMED"
        event.add(
            "attendee",
            _address(
                person.email,
                specialist_name(booking.profile) if recipient == "specialist" else person.name,
                ROLE="REQ-PARTICIPANT",
                PARTSTAT="ACCEPTED" if confirmed else "NEEDS-ACTION",
                RSVP="FALSE",
            ),
        )
        return _calendar([event], used, method=method).to_ical()


def invite_attachment(
    booking: Booking, recipient: Recipient, method: Method
) -> tuple[str, bytes, str]:
    """``(filename, content, mimetype)`` for ``EmailMessage.attach``: the mimetype carries
    the iTIP method (``text/calendar; method=REQUEST``) so mail clients offer the event."""
    content = booking_invite(booking, recipient=recipient, method=method)
    name = "cancel" if method == "CANCEL" else "invite"
    return f"{name}-{booking.pk}.ics", content, f"text/calendar; method={method}"
