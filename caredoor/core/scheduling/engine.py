"""The slot engine: free appointment slots from weekly rules, date overrides and bookings.

Pure and framework-free (stdlib ``datetime`` and ``zoneinfo`` only), so it is fast and
testable without a database; the scheduling app feeds it from its models.

Availability is local wall-clock time in the specialist's IANA zone (ARCHITECTURE rule 4):
a rule "Mondays 09:00-12:00 Europe/Berlin" yields 09:00 local on every Monday, summer and
winter. Every instant that enters is aware (any zone) and every instant that leaves is an
aware UTC datetime.

Decisions:

- Days are local calendar days. A date override replaces that day's weekly rules entirely
  (no windows: a day off). Each window generates starts at ``window.start + k * step`` in
  local wall-clock arithmetic while ``start + duration`` still fits in the window; a slot
  never spans two windows, even when the windows touch.
- Daylight saving: a candidate whose local start or local end does not exist (the
  spring-forward gap) is skipped. An ambiguous local time (the fall-back overlap) means its
  first occurrence (``fold=0``), for start and end alike; a candidate whose real length in
  UTC then differs from ``duration`` (it crosses the repeated hour) is skipped. So every
  slot lasts exactly ``duration`` and starts at the wall-clock time its rule names.
- Intervals are half-open ``[start, end)``: things may touch, never overlap. Buffers widen
  both sides: a slot's ``[start - buffer_before, end + buffer_after)`` must not overlap any
  booking's ``[start - buffer_before, end + buffer_after)`` -- the same ranges the
  database's exclusion constraint compares (ARCHITECTURE rule 6), so a slot offered here is
  a slot that can be booked.
- By default the slots returned form a set that could all be booked together: earliest
  first, each one clear of the previous one including both buffers, so slots never overlap
  each other (``step`` then is the start granularity after a booking or a skipped
  candidate). ``SlotQuery(overlapping=True)`` instead returns every free start on the step
  grid as alternatives, which may overlap each other.
- A slot is offered when ``now + min_notice <= start <= now + horizon`` and it lies within
  ``[range_start, range_end)``.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIDNIGHT = time(0)
ONE_DAY = timedelta(days=1)
ZERO = timedelta(0)

Window = tuple[time, time]
K = TypeVar("K", bound=Hashable)


# --- validation helpers -------------------------------------------------------------------


def _check_window(start: time, end: time) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("window times are local wall-clock times and must be naive")
    if not (end > start or end == MIDNIGHT):
        raise ValueError(f"window end {end} must be after its start {start} (00:00 = midnight)")


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _check_not_negative(name: str, value: timedelta) -> None:
    if value < ZERO:
        raise ValueError(f"{name} must not be negative")


def _check_positive(name: str, value: timedelta) -> None:
    if value <= ZERO:
        raise ValueError(f"{name} must be positive")


def _utc(value: datetime) -> datetime:
    """In UTC: aware datetimes sharing a ZoneInfo compare by wall clock, ignoring ``fold``."""
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {key!r}") from error


# --- inputs and output --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """Open hours on a weekday (0 = Monday .. 6 = Sunday), local wall-clock, ``[start, end)``.

    ``end == time(0)`` means midnight at the end of the day. Several rules per weekday are
    allowed; the gaps between them are the breaks.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) .. 6 (Sunday), not {self.weekday}")
        _check_window(self.start, self.end)


@dataclass(frozen=True, slots=True)
class DateOverride:
    """Replaces the weekly rules for one local date; no windows means a day off."""

    day: date
    windows: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime):
            raise ValueError("DateOverride.day is a local date, not a datetime")
        for start, end in self.windows:
            _check_window(start, end)


@dataclass(frozen=True, slots=True)
class Busy:
    """An existing booking, ``[start, end)`` as aware datetimes, with its own buffers."""

    start: datetime
    end: datetime
    buffer_before: timedelta = ZERO
    buffer_after: timedelta = ZERO

    def __post_init__(self) -> None:
        _check_aware("Busy.start", self.start)
        _check_aware("Busy.end", self.end)
        if _utc(self.end) <= _utc(self.start):
            raise ValueError("Busy.end must be after Busy.start")
        _check_not_negative("Busy.buffer_before", self.buffer_before)
        _check_not_negative("Busy.buffer_after", self.buffer_after)

    @property
    def blocked(self) -> tuple[datetime, datetime]:
        """The UTC range the booking holds, buffers included (real time, not wall time)."""
        return _utc(self.start) - self.buffer_before, _utc(self.end) + self.buffer_after


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotQuery:
    """What to look for: one session type's shape, the window asked about, and the clock.

    ``step`` defaults to ``duration``; ``horizon=None`` means no horizon beyond the range.
    """

    zone: str
    duration: timedelta
    buffer_before: timedelta = ZERO
    buffer_after: timedelta = ZERO
    step: timedelta | None = None
    min_notice: timedelta = ZERO
    horizon: timedelta | None = None
    range_start: datetime
    range_end: datetime
    now: datetime
    overlapping: bool = False

    def __post_init__(self) -> None:
        _zone(self.zone)
        _check_positive("duration", self.duration)
        _check_positive("step", self.slot_step)
        for name in ("buffer_before", "buffer_after", "min_notice"):
            _check_not_negative(name, getattr(self, name))
        if self.horizon is not None:
            _check_not_negative("horizon", self.horizon)
        for name in ("range_start", "range_end", "now"):
            _check_aware(name, getattr(self, name))
        if _utc(self.range_end) < _utc(self.range_start):
            raise ValueError("range_end must not be before range_start")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def slot_step(self) -> timedelta:
        return self.duration if self.step is None else self.step


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A free slot, ``[start, end)`` as aware UTC datetimes."""

    start: datetime
    end: datetime


# --- local calendar -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Calendar:
    weekly: tuple[tuple[Window, ...], ...]  # indexed by weekday
    overrides: dict[date, tuple[Window, ...]]

    @classmethod
    def build(cls, rules: Iterable[WeeklyRule], overrides: Iterable[DateOverride]) -> _Calendar:
        weekly: list[list[Window]] = [[] for _ in range(7)]
        for rule in rules:
            weekly[rule.weekday].append((rule.start, rule.end))
        by_day: dict[date, tuple[Window, ...]] = {}
        for override in overrides:
            if override.day in by_day:
                raise ValueError(f"more than one override for {override.day}")
            by_day[override.day] = tuple(sorted(override.windows))
        return cls(tuple(tuple(sorted(windows)) for windows in weekly), by_day)

    def windows(self, day: date) -> tuple[Window, ...]:
        found = self.overrides.get(day)
        return self.weekly[day.weekday()] if found is None else found

    def days(self, first: date, last: date) -> Iterator[date]:
        """The local dates in ``[first, last]`` that may have open hours, in order."""
        if any(self.weekly):
            day = first
            while day <= last:
                yield day
                day += ONE_DAY
        else:
            yield from sorted(d for d, ws in self.overrides.items() if ws and first <= d <= last)


def _local_bounds(day: date, window: Window) -> tuple[datetime, datetime]:
    """A window as naive local datetimes; an end of 00:00 is midnight after ``day``."""
    start, end = window
    opens = datetime.combine(day, start.replace(fold=0))
    closes = datetime.combine(day + ONE_DAY if end == MIDNIGHT else day, end.replace(fold=0))
    return opens, closes


def _window_starts(
    day: date, window: Window, length: timedelta, step: timedelta
) -> Iterator[datetime]:
    """Local wall-clock starts ``window.start + k * step`` whose slot fits in the window."""
    opens, closes = _local_bounds(day, window)
    start = opens
    while start + length <= closes:
        yield start
        start += step


def _wall_starts(
    day: date, windows: Iterable[Window], length: timedelta, step: timedelta
) -> Iterator[datetime]:
    """One local day's starts from all its windows, in order, each once, generated lazily."""
    previous: datetime | None = None
    for start in heapq.merge(*(_window_starts(day, w, length, step) for w in windows)):
        if start != previous:
            yield start
        previous = start


def _to_utc(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive local time (first occurrence), or None if it does not exist."""
    instant = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local:
        return None  # in the spring-forward gap: the round trip lands elsewhere
    return instant


def _real_end(
    local_start: datetime, start: datetime, duration: timedelta, tz: ZoneInfo
) -> datetime | None:
    """The UTC end of a slot, or None if its local end does not exist or DST changes its length."""
    end = _to_utc(local_start + duration, tz)
    return end if end is not None and end - start == duration else None


@lru_cache(maxsize=2048)
def _day_starts(
    tz: ZoneInfo, day: date, windows: tuple[Window, ...], duration: timedelta, step: timedelta
) -> tuple[datetime, ...]:
    """One local day's candidate slot starts in UTC, in local order: every start the windows
    name whose local start and local end exist and whose real length is ``duration`` (so each
    candidate ends at ``start + duration``).

    Bounds and bookings are not applied here, so the result depends on nothing but the
    arguments and is computed once per zone, day, hours and shape, then shared by every
    specialist with the same hours (the directory asks for thousands at once): the zone
    conversions are the costly part of the engine. At most a few hundred starts a day, so
    the cache stays within a few tens of megabytes even when every entry is a full day.
    """
    found = []
    for local_start in _wall_starts(day, windows, duration, step):
        start = _to_utc(local_start, tz)
        if start is not None and _real_end(local_start, start, duration, tz) is not None:
            found.append(start)
    return tuple(found)


# --- bookings -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BusyIndex:
    """Blocked ranges sorted by start, with the running maximum of their ends."""

    starts: list[datetime]
    max_ends: list[datetime]

    @classmethod
    def build(cls, busy: Iterable[Busy]) -> _BusyIndex:
        blocked = sorted(b.blocked for b in busy)
        ends = accumulate((end for _, end in blocked), max)
        return cls([start for start, _ in blocked], list(ends))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` overlaps a blocked range: O(log n)."""
        before_end = bisect_left(self.starts, end)  # ranges [0, before_end) start before `end`
        return before_end > 0 and self.max_ends[before_end - 1] > start


# --- the engine ---------------------------------------------------------------------------


def _start_bounds(query: SlotQuery) -> tuple[datetime, datetime]:
    """The earliest and latest allowed slot start in UTC, both inclusive."""
    now = _utc(query.now)  # notice and horizon are real elapsed time, not wall-clock time
    earliest = max(_utc(query.range_start), now + query.min_notice)
    latest = _utc(query.range_end) - query.duration
    if query.horizon is not None:
        latest = min(latest, now + query.horizon)
    return earliest, latest


def iter_free_slots(
    rules: Iterable[WeeklyRule],
    overrides: Iterable[DateOverride],
    busy: Iterable[Busy],
    query: SlotQuery,
) -> Iterator[Slot]:
    """Free slots in UTC, sorted, generated lazily one local day at a time.

    Inputs are checked and indexed at once; days are generated as the caller iterates,
    so taking only the first slot costs only the days up to it.
    """
    calendar = _Calendar.build(rules, overrides)
    index = _BusyIndex.build(busy)
    return _generate(calendar, index, query)


def _generate(calendar: _Calendar, index: _BusyIndex, query: SlotQuery) -> Iterator[Slot]:
    tz = query.tz
    earliest, latest = _start_bounds(query)
    if earliest > latest:
        return
    duration, step = query.duration, query.slot_step
    before, after = query.buffer_before, query.buffer_after
    # One day of margin each side: the filter below is exact, the date range need not be.
    first = earliest.astimezone(tz).date() - ONE_DAY
    last = latest.astimezone(tz).date() + ONE_DAY
    clear_from: datetime | None = None  # default mode: where the last slot offered stops
    for day in calendar.days(first, last):
        windows = calendar.windows(day)
        if not windows:
            continue
        for start in _day_starts(tz, day, windows, duration, step):
            if start < earliest:
                continue
            if start > latest:
                return  # existing local times keep their order in UTC: nothing later fits
            end = start + duration
            if index.overlaps(start - before, end + after):
                continue  # the slot with its buffers overlaps a booking with its buffers
            if clear_from is not None and start - before < clear_from:
                continue  # default mode: not clear of the last slot offered
            yield Slot(start, end)
            if not query.overlapping:
                clear_from = end + after


def free_slots(
    rules: Iterable[WeeklyRule],
    overrides: Iterable[DateOverride],
    busy: Iterable[Busy],
    query: SlotQuery,
) -> list[Slot]:
    """All free slots in UTC, sorted, without duplicates."""
    return list(iter_free_slots(rules, overrides, busy, query))


def next_available(
    specs: Iterable[
        tuple[K, Iterable[WeeklyRule], Iterable[DateOverride], Iterable[Busy], SlotQuery]
    ],
) -> dict[K, Slot | None]:
    """The first free slot per key (a specialist), or None; stops at the first one found."""
    return {
        key: next(iter_free_slots(rules, overrides, busy, query), None)
        for key, rules, overrides, busy, query in specs
    }
