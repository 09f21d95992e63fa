"""The specialist's sessions and their video rooms, read for many bookings at once.

``join_cards`` tells, for a list of bookings in one query (``video.join_card`` is one
booking's case), which rooms are open now (a confirmed booking inside its brand's join
window) and where the patient waits in the room without the specialist. The join page
(``specialist:session_join``) answers only on the booking's own brand, so a room open on
another site gets no link here: it is marked ``elsewhere`` for the page to say where.

``dashboard_sessions`` is the dashboard's card: today's confirmed sessions on this brand,
in the specialist's time zone, and the next few after today, each with its room's state.
Bookings come only through ``core.booking.access`` (the specialist's own profile).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from caredoor.core.booking import access
from caredoor.core.booking.join import is_joinable, join_window
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.video.models import Attendance, Side
from caredoor.portals.specialist import booking_support as support

NEXT_SESSIONS = 3  # sessions after today on the dashboard
DAY_LABEL = "D j M"  # a later session's day on the dashboard


@dataclass(frozen=True)
class JoinCard:
    """What the booking page says about the session's room."""

    joinable: bool
    url: str = ""
    patient_waiting: bool = False


@dataclass(frozen=True)
class RoomState:
    """A booking's video room now: ``card`` as the booking page reads it (joinable here,
    the join URL, the patient waiting) and ``elsewhere``, open now but on another site."""

    card: JoinCard
    elsewhere: bool = False


CLOSED = RoomState(JoinCard(joinable=False))


def _open_now(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.CONFIRMED and is_joinable(booking, now)


def join_cards(
    bookings: Iterable[Booking], brand: Brand | None, now: datetime | None = None
) -> dict[int, RoomState]:
    """The state of each booking's room by booking id; one query for who is in the rooms
    open now (none when no room is open). Rooms are only read, never created."""
    now = now or timezone.now()
    here_open: list[int] = []
    states: dict[int, RoomState] = {}
    for booking in bookings:
        if not _open_now(booking, now):
            states[booking.pk] = CLOSED
        elif brand is not None and booking.brand_id == brand.pk:
            here_open.append(booking.pk)
        else:
            states[booking.pk] = RoomState(JoinCard(joinable=False), elsewhere=True)
    present: dict[int, set[str]] = {}
    if here_open:
        rows = Attendance.objects.filter(
            room__booking_id__in=here_open, left_at__isnull=True
        ).values_list("room__booking_id", "side")
        for booking_id, side in rows:
            present.setdefault(booking_id, set()).add(side)
    for booking_id in here_open:
        sides = present.get(booking_id, set())
        states[booking_id] = RoomState(
            JoinCard(
                joinable=True,
                url=reverse("specialist:session_join", args=[booking_id]),
                patient_waiting=Side.PATIENT in sides and Side.SPECIALIST not in sides,
            )
        )
    return states


def with_rooms(rows: list[Booking], brand: Brand | None, now: datetime) -> list[Booking]:
    """``rows`` with ``.room`` (a ``RoomState``) on each, for the bookings tables."""
    states = join_cards(rows, brand, now)
    for row in rows:
        row.room = states[row.pk]  # type: ignore[attr-defined]
    return rows


# --- the dashboard's card -----------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """One session on the dashboard: its local times and its room."""

    booking: Booking
    day: str  # "Tue 3 Mar" for a session on another day than today, else ""
    start: str  # "09:00"
    end: str
    room: RoomState
    opens: str = ""  # when the room opens, before it does
    over: bool = False  # the room has closed (the outcome may still be recorded)

    @property
    def url(self) -> str:
        return reverse("specialist:booking", args=[self.booking.pk])


@dataclass(frozen=True)
class SessionsCard:
    today: list[SessionRow] = field(default_factory=list)
    later: list[SessionRow] = field(default_factory=list)
    day: str = ""  # today, as the specialist reads it
    zone: str = "UTC"

    @property
    def any(self) -> bool:
        return bool(self.today or self.later)

    @property
    def waiting(self) -> int:
        return sum(1 for row in self.today if row.room.card.patient_waiting)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def _row(
    booking: Booking, state: RoomState, tz: ZoneInfo, now: datetime, today: date
) -> SessionRow:
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    opens, closes = join_window(booking)
    return SessionRow(
        booking=booking,
        day=date_format(start, DAY_LABEL) if start.date() != today else "",
        start=date_format(start, support.CLOCK),
        end=date_format(end, support.CLOCK),
        room=state,
        opens=date_format(opens.astimezone(tz), support.CLOCK) if now < opens else "",
        over=now > closes,
    )


def dashboard_sessions(
    profile: SpecialistProfile,
    brand: Brand,
    now: datetime | None = None,
    *,
    later: int = NEXT_SESSIONS,
) -> SessionsCard:
    """Today's confirmed sessions on ``brand`` (in the specialist's zone; one still open
    from last night counts), then the next ``later`` ones after today. Three queries: the
    two lists and who is in the rooms open now."""
    now = now or timezone.now()
    zone = support.zone_name(profile)
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    day_start, day_end = _midnight(today, tz), _midnight(today + timedelta(days=1), tz)
    grace = timedelta(minutes=brand.video_join_grace_minutes)
    mine = access.specialist_bookings(profile).filter(brand=brand, status=BookingStatus.CONFIRMED)
    todays = list(
        mine.filter(start__lt=day_end, end__gt=min(day_start, now - grace)).order_by("start", "pk")
    )
    afterwards = list(mine.filter(start__gte=day_end).order_by("start", "pk")[:later])
    states = join_cards([*todays, *afterwards], brand, now)
    return SessionsCard(
        today=[_row(b, states[b.pk], tz, now, today) for b in todays],
        later=[_row(b, states[b.pk], tz, now, today) for b in afterwards],
        day=date_format(now.astimezone(tz), support.DAY),
        zone=zone,
    )
