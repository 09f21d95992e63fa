"""The specialist's calendar as data: days, open hours and bookings in one time zone.

Pure (stdlib ``datetime`` and ``zoneinfo`` only) so it is tested without a database or a
template. Open hours are wall-clock times in the specialist's zone, so they are laid on
each local date as they are: 09:00 stays 09:00 on both sides of a daylight-saving change.
Bookings arrive in UTC and are converted to the zone; each is shown on the local date it
starts on, inside the open period that contains its start when there is one.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAY, WEEK, MONTH = "day", "week", "month"
VIEWS = (DAY, WEEK, MONTH)
MIDNIGHT = time(0)
ONE_DAY = timedelta(days=1)
EN_DASH = "\u2013"


def _minutes(value: time, *, end: bool = False) -> int:
    """Minutes since the day's start; an end of 00:00 is the day's end (1440)."""
    if end and value == MIDNIGHT:
        return 24 * 60
    return value.hour * 60 + value.minute


def clock(value: time, *, end: bool = False) -> str:
    return "24:00" if end and value == MIDNIGHT else value.strftime("%H:%M")


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyHours:
    """A weekly period (0 = Monday); ``label`` names the session type it is reserved for."""

    weekday: int
    start: time
    end: time
    label: str = ""


@dataclass(frozen=True)
class DateHours:
    """A date override: its own periods (none: a day off) and the specialist's note."""

    day: date
    windows: tuple[tuple[time, time], ...] = ()
    note: str = ""
    key: Any = None  # the override's id, for links

    @property
    def day_off(self) -> bool:
        return not self.windows


@dataclass(frozen=True)
class BookingIn:
    start: datetime  # aware, any zone
    end: datetime
    item: Any = None  # passed through to the template (the booking)


# --- output -------------------------------------------------------------------------------


@dataclass
class Booked:
    start: datetime  # local, aware
    end: datetime
    item: Any
    ends_next_day: bool

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}{EN_DASH}{self.end:%H:%M}"

    @property
    def start_label(self) -> str:
        return f"{self.start:%H:%M}"

    @property
    def kind(self) -> str:
        return "booking"


@dataclass
class Window:
    start: time
    end: time
    label: str = ""
    bookings: list[Booked] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{clock(self.start)}{EN_DASH}{clock(self.end, end=True)}"

    @property
    def kind(self) -> str:
        return "window"

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return _minutes(self.start) <= minute < _minutes(self.end, end=True)


@dataclass
class Day:
    date: date
    today: bool
    past: bool
    in_period: bool  # False: a day of the neighbouring month that fills the month's weeks
    windows: list[Window]
    override: DateHours | None
    bookings: list[Booked]  # all of the day's bookings, by start
    clock_change: int  # minutes the clocks move on this date (+60 forward, -60 back, 0)

    @property
    def day_off(self) -> bool:
        return self.override is not None and self.override.day_off

    @property
    def changed(self) -> bool:
        return self.override is not None

    @property
    def clock_shift(self) -> int:
        """How far the clocks move on this date, in minutes (0: they do not)."""
        return abs(self.clock_change)

    @property
    def outside(self) -> list[Booked]:
        """Bookings whose start lies outside every open period (kept when hours change)."""
        inside = {id(b) for w in self.windows for b in w.bookings}
        return [b for b in self.bookings if id(b) not in inside]

    @property
    def blocks(self) -> list[Window | Booked]:
        """The day in time order: open periods (with their bookings) and other bookings."""
        items: list[tuple[int, int, Window | Booked]] = [
            (_minutes(w.start), 0, w) for w in self.windows
        ]
        items += [(b.start.hour * 60 + b.start.minute, 1, b) for b in self.outside]
        return [item for _m, _k, item in sorted(items, key=lambda t: (t[0], t[1]))]

    @property
    def hours_text(self) -> str:
        return ", ".join(w.text for w in self.windows)


@dataclass
class Grid:
    view: str
    anchor: date
    zone: str
    first: date
    last: date
    days: list[Day]
    previous: date
    following: date

    @property
    def weeks(self) -> list[list[Day]]:
        return [self.days[i : i + 7] for i in range(0, len(self.days), 7)]

    @property
    def weekday_names(self) -> list[date]:
        """Dates of the first week, for column headings (format them with the weekday)."""
        return [d.date for d in self.days[:7]]

    @property
    def booking_count(self) -> int:
        return sum(len(d.bookings) for d in self.days if d.in_period)


# --- the period -----------------------------------------------------------------------------


def parse_view(value: str | None) -> str:
    return value if value in VIEWS else WEEK


def parse_date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def period(view: str, anchor: date) -> tuple[date, date, date, date]:
    """``(first, last, previous anchor, next anchor)``; weeks start on Monday, a month
    shows whole weeks (so its first and last dates may lie in the neighbouring months)."""
    if view == DAY:
        return anchor, anchor, anchor - ONE_DAY, anchor + ONE_DAY
    if view == WEEK:
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=6), anchor - timedelta(7), anchor + timedelta(7)
    first_of_month = anchor.replace(day=1)
    days_in_month = calendar.monthrange(anchor.year, anchor.month)[1]
    last_of_month = anchor.replace(day=days_in_month)
    first = first_of_month - timedelta(days=first_of_month.weekday())
    last = last_of_month + timedelta(days=6 - last_of_month.weekday())
    previous = (first_of_month - ONE_DAY).replace(day=1)
    following = last_of_month + ONE_DAY
    return first, last, previous, following


def utc_range(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """UTC instants that surely cover the local dates ``first``..``last`` (a day of margin
    each side; bookings are placed on days by their exact local date afterwards)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(first - ONE_DAY, MIDNIGHT, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + 2 * ONE_DAY, MIDNIGHT, tzinfo=tz).astimezone(UTC)
    return start, end


def clock_change(day: date, tz: ZoneInfo) -> int:
    """Minutes the clocks move during ``day`` (local): +60 in spring, -60 in autumn, 0."""
    before = datetime.combine(day, MIDNIGHT, tzinfo=tz).utcoffset()
    after = datetime.combine(day + ONE_DAY, MIDNIGHT, tzinfo=tz).utcoffset()
    assert before is not None and after is not None
    return int((after - before).total_seconds() // 60)


def build(
    *,
    view: str,
    anchor: date,
    zone: str,
    today: date,
    weekly: Iterable[WeeklyHours],
    overrides: Iterable[DateHours],
    bookings: Iterable[BookingIn],
) -> Grid:
    tz = ZoneInfo(zone)
    view = parse_view(view)
    first, last, previous, following = period(view, anchor)
    by_weekday: dict[int, list[WeeklyHours]] = {d: [] for d in range(7)}
    for rule in weekly:
        by_weekday[rule.weekday].append(rule)
    by_date = {o.day: o for o in overrides}
    booked: dict[date, list[Booked]] = {}
    for entry in bookings:
        start, end = entry.start.astimezone(tz), entry.end.astimezone(tz)
        if first <= start.date() <= last:
            booked.setdefault(start.date(), []).append(
                Booked(start, end, entry.item, ends_next_day=end.date() > start.date())
            )
    days = []
    day = first
    while day <= last:
        override = by_date.get(day)
        if override is not None:
            windows = [Window(a, b) for a, b in override.windows]
        else:
            windows = [Window(r.start, r.end, r.label) for r in by_weekday[day.weekday()]]
        windows.sort(key=lambda w: (_minutes(w.start), _minutes(w.end, end=True)))
        day_bookings = sorted(booked.get(day, []), key=lambda b: (b.start, b.end))
        for entry_ in day_bookings:
            holder = next((w for w in windows if w.contains(entry_.start)), None)
            if holder is not None:
                holder.bookings.append(entry_)
        in_period = view != MONTH or day.month == anchor.month
        days.append(
            Day(
                date=day,
                today=day == today,
                past=day < today,
                in_period=in_period,
                windows=windows,
                override=override,
                bookings=day_bookings,
                clock_change=clock_change(day, tz),
            )
        )
        day += ONE_DAY
    return Grid(view, anchor, zone, first, last, days, previous, following)
