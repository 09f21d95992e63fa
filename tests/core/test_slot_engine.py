"""The slot engine: free slots that never shift, overlap or fall into a DST gap.

Property tests run over seven zones (both hemispheres' DST, half-hour and 45-minute offsets,
a half-hour DST shift, a zone that dropped DST) across two years of transitions, biased
towards transition days. An independent oracle walks real UTC instants one by one and
asks which of them are valid slot starts; the engine walks local wall-clock times. No
database is needed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from caredoor.core.scheduling import engine
from caredoor.core.scheduling.engine import (
    Busy,
    DateOverride,
    Slot,
    SlotQuery,
    WeeklyRule,
    free_slots,
    iter_free_slots,
    next_available,
)

ZERO = timedelta(0)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
BERLIN = ZoneInfo("Europe/Berlin")

PERIODS = {
    "Europe/Berlin": (date(2026, 1, 1), date(2027, 12, 31)),
    "America/New_York": (date(2026, 1, 1), date(2027, 12, 31)),
    "Australia/Sydney": (date(2026, 1, 1), date(2027, 12, 31)),
    "America/Sao_Paulo": (date(2018, 1, 1), date(2019, 12, 31)),
    "Asia/Kolkata": (date(2026, 1, 1), date(2027, 12, 31)),
    "Australia/Lord_Howe": (date(2026, 1, 1), date(2027, 12, 31)),
    "Asia/Kathmandu": (date(2026, 1, 1), date(2027, 12, 31)),
}
ZONES = sorted(PERIODS)
# Windows over the hours where zones change their clocks (and midnight, for Sao Paulo).
TRANSITION_WINDOWS = [
    (time(0), time(4)),
    (time(1), time(4)),
    (time(1, 30), time(3, 30)),
    (time(2), time(3)),
    (time(0), time(1)),
    (time(22), time(0)),
    (time(23), time(0)),
    (time(0), time(0)),
]
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def local_wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def exists(wall: datetime, tz: ZoneInfo) -> bool:
    """A naive local time exists when one of its folds survives the round trip through UTC."""
    return any(
        local_wall(wall.replace(tzinfo=tz, fold=fold).astimezone(UTC), tz) == wall
        for fold in (0, 1)
    )


@functools.cache
def transition_days(zone: str) -> frozenset[date]:
    """Local dates (with a day of margin) on which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    first, last = PERIODS[zone]
    instant = datetime.combine(first - 3 * DAY, time(0), UTC)
    end = datetime.combine(last + 3 * DAY, time(0), UTC)
    offset = instant.astimezone(tz).utcoffset()
    days: set[date] = set()
    while instant < end:
        instant += timedelta(hours=1)
        local = instant.astimezone(tz)
        if local.utcoffset() != offset:
            offset = local.utcoffset()
            days.update(local.date() + delta * DAY for delta in (-1, 0, 1))
    return frozenset(days)


def windows_of(day: date, rules, overrides) -> list[tuple[time, time]]:
    for override in overrides:
        if override.day == day:
            return list(override.windows)
    return [(rule.start, rule.end) for rule in rules if rule.weekday == day.weekday()]


def wall_bounds(day: date, window: tuple[time, time]) -> tuple[datetime, datetime]:
    start, end = window
    closes_on = day + DAY if end == time(0) else day
    return datetime.combine(day, start), datetime.combine(closes_on, end)


def wall_grid(day: date, windows, duration: timedelta, step: timedelta) -> list[datetime]:
    """Local starts a window generates, by plain local arithmetic (no zone involved)."""
    starts = set()
    for window in windows:
        opens, closes = wall_bounds(day, window)
        count = (closes - opens - duration) // step + 1 if closes - opens >= duration else 0
        starts.update(opens + k * step for k in range(count))
    return sorted(starts)


def on_grid(wall: datetime, duration: timedelta, step: timedelta, windows) -> bool:
    for window in windows:
        opens, closes = wall_bounds(wall.date(), window)
        if opens <= wall and wall + duration <= closes and (wall - opens) % step == ZERO:
            return True
    return False


def blocked_by(slot: Slot, query: SlotQuery, busy: list[Busy]) -> bool:
    """Brute force over every booking, both sides' buffers added in real (UTC) time."""
    start, end = slot.start - query.buffer_before, slot.end + query.buffer_after
    return any(
        b.start.astimezone(UTC) - b.buffer_before < end
        and start < b.end.astimezone(UTC) + b.buffer_after
        for b in busy
    )


def start_bounds(query: SlotQuery) -> tuple[datetime, datetime]:
    """Notice and horizon are real elapsed time: add them in UTC, never to a local clock."""
    now = query.now.astimezone(UTC)
    earliest = max(query.range_start.astimezone(UTC), now + query.min_notice)
    latest = query.range_end.astimezone(UTC) - query.duration
    if query.horizon is not None:
        latest = min(latest, now + query.horizon)
    return earliest, latest


def pack(slots: list[Slot], query: SlotQuery) -> list[Slot]:
    """The greedy selection of the default mode: each slot clear of the last, buffers included."""
    if query.overlapping:
        return slots
    chosen: list[Slot] = []
    for slot in slots:
        last = chosen[-1] if chosen else None
        if last is None or slot.start - query.buffer_before >= last.end + query.buffer_after:
            chosen.append(slot)
    return chosen


# --- strategies ---------------------------------------------------------------------------


def as_time(minute_of_day: int) -> time:
    return time(0) if minute_of_day == 1440 else time(minute_of_day // 60, minute_of_day % 60)


@st.composite
def window_strategy(draw) -> tuple[time, time]:
    if draw(st.booleans()):
        return draw(st.sampled_from(TRANSITION_WINDOWS))
    start = draw(st.integers(0, 282)) * 5
    end = min(start + draw(st.integers(6, 144)) * 5, 1440)
    return as_time(start), as_time(end)


@st.composite
def rules_strategy(draw) -> list[WeeklyRule]:
    """Mostly the same hours every day (so transition days have rules), else random ones."""
    if draw(st.integers(0, 2)):
        daily = draw(st.lists(window_strategy(), min_size=1, max_size=3))
        return [WeeklyRule(weekday, start, end) for weekday in range(7) for start, end in daily]
    pairs = draw(st.lists(st.tuples(st.integers(0, 6), window_strategy()), max_size=10))
    return [WeeklyRule(weekday, start, end) for weekday, (start, end) in pairs]


@st.composite
def day_strategy(draw, zone: str) -> date:
    first, last = PERIODS[zone]
    transitions = sorted(d for d in transition_days(zone) if first <= d <= last)
    if transitions and draw(st.integers(0, 2)):
        day = draw(st.sampled_from(transitions)) - draw(st.integers(0, 3)) * DAY
    else:
        day = draw(st.dates(first, last))
    return min(max(day, first), last)


@st.composite
def shape_strategy(draw) -> dict:
    duration = minutes(draw(st.integers(15, 120)))
    step = draw(st.sampled_from([None, 5, 10, 15, 20, 30, 45, 60, 90]))
    return {
        "duration": duration,
        "step": None if step is None else minutes(step),
        "buffer_before": minutes(draw(st.sampled_from([0, 0, 5, 10, 15, 30]))),
        "buffer_after": minutes(draw(st.sampled_from([0, 0, 5, 10, 15, 30]))),
        "overlapping": draw(st.booleans()),
    }


@dataclass(frozen=True)
class Scenario:
    rules: list[WeeklyRule]
    overrides: list[DateOverride]
    busy: list[Busy]
    query: SlotQuery

    @property
    def tz(self) -> ZoneInfo:
        return self.query.tz

    def slots(self) -> list[Slot]:
        return free_slots(self.rules, self.overrides, self.busy, self.query)


@st.composite
def overrides_strategy(draw, first_day: date, days: int) -> list[DateOverride]:
    offsets = draw(st.lists(st.integers(-1, days), max_size=3, unique=True))
    return [
        DateOverride(first_day + offset * DAY, tuple(draw(st.lists(window_strategy(), max_size=2))))
        for offset in offsets
    ]


@st.composite
def busy_strategy(draw, tz: ZoneInfo, range_start: datetime, days: int) -> list[Busy]:
    bookings = []
    for _ in range(draw(st.integers(0, 8))):
        start = range_start + minutes(draw(st.integers(-180, days * 1440)) // 5 * 5)
        length = minutes(draw(st.integers(15, 180)))
        zone = draw(st.sampled_from([UTC, tz]))  # bookings may arrive in any zone
        bookings.append(
            Busy(
                start.astimezone(zone),
                (start + length).astimezone(zone),
                minutes(draw(st.sampled_from([0, 5, 10, 30]))),
                minutes(draw(st.sampled_from([0, 5, 10, 30]))),
            )
        )
    return bookings


@st.composite
def scenario_strategy(draw) -> Scenario:
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    first_day = draw(day_strategy(zone))
    days = draw(st.integers(1, 6))
    range_start = datetime.combine(first_day, time(0), UTC) + minutes(draw(st.integers(-720, 720)))
    range_end = range_start + days * DAY + minutes(draw(st.integers(0, 1440)))
    shown_in = draw(st.sampled_from([UTC, tz, ZoneInfo("America/Los_Angeles")]))
    now = range_start + minutes(draw(st.integers(-3 * 1440, 1440)))
    horizon = draw(st.one_of(st.none(), st.integers(0, 10 * 1440).map(minutes), st.none()))
    query = SlotQuery(
        zone=zone,
        min_notice=minutes(draw(st.sampled_from([0, 0, 0, 60, 24 * 60]))),
        horizon=horizon,
        range_start=range_start.astimezone(shown_in),
        range_end=range_end.astimezone(shown_in),
        now=now.astimezone(shown_in),
        **draw(shape_strategy()),
    )
    return Scenario(
        rules=draw(rules_strategy()),
        overrides=draw(overrides_strategy(first_day, days)),
        busy=draw(busy_strategy(tz, range_start, days)),
        query=query,
    )


# --- properties ---------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenario_strategy())
def test_slot_properties(scenario: Scenario) -> None:
    query, tz = scenario.query, scenario.tz
    slots = scenario.slots()
    earliest, latest = start_bounds(query)
    for slot in slots:
        wall_start, wall_end = local_wall(slot.start, tz), local_wall(slot.end, tz)
        windows = windows_of(wall_start.date(), scenario.rules, scenario.overrides)
        # (1) the local start is a wall-clock time its window generates: no DST shift,
        #     and (6) the slot lies inside a window of its own local day
        assert on_grid(wall_start, query.duration, query.slot_step, windows), slot
        # (2) start and end are existing local times, the first occurrence of each, and
        #     the local end is the local start plus the duration (no transition inside)
        assert exists(wall_start, tz) and exists(wall_end, tz)
        assert first_instant(wall_start, tz) == slot.start
        assert first_instant(wall_end, tz) == slot.end
        assert wall_end - wall_start == query.duration
        # (3) the real length is the duration; instants leave the engine in UTC
        assert slot.end - slot.start == query.duration
        assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
        # (5) clear of every booking, both sides' buffers included
        assert not blocked_by(slot, query, scenario.busy), slot
        # (6) range, notice and horizon
        assert earliest <= slot.start <= latest
        assert query.range_start <= slot.start and slot.end <= query.range_end
    # (4) sorted, no duplicates; by default also clear of each other, buffers included
    for before, after in pairwise(slots):
        assert before.start < after.start
        if not query.overlapping:
            assert after.start - query.buffer_before >= before.end + query.buffer_after


@PROPERTY_SETTINGS
@given(scenario_strategy())
def test_slots_equal_an_instant_by_instant_oracle(scenario: Scenario) -> None:
    """Walk real UTC instants one by one and keep those that are valid slot starts.

    Every local start the rules can name is a window start (a multiple of 5 minutes) plus
    whole steps, and every offset is a multiple of 15 minutes, so walking every
    gcd(5 min, step) meets every candidate; the walk never meets a start in a DST gap
    because no instant shows one. The local end must exist too, and both must be the
    first occurrence of their wall-clock time.
    """
    query, tz = scenario.query, scenario.tz
    earliest, latest = start_bounds(query)
    stride = math.gcd(5, query.slot_step // MINUTE) * MINUTE
    midnight = datetime.combine(earliest.date(), time(0), UTC)
    instant = midnight + -((midnight - earliest) // stride) * stride  # first on the walk
    candidates = []
    while instant <= latest:
        wall = local_wall(instant, tz)
        slot = Slot(instant, instant + query.duration)
        windows = windows_of(wall.date(), scenario.rules, scenario.overrides)
        if (
            on_grid(wall, query.duration, query.slot_step, windows)
            and first_instant(wall, tz) == instant
            and exists(wall + query.duration, tz)
            and first_instant(wall + query.duration, tz) == slot.end
            and not blocked_by(slot, query, scenario.busy)
        ):
            candidates.append(slot)
        instant += stride
    assert scenario.slots() == pack(candidates, query)


@st.composite
def plain_days_strategy(draw) -> Scenario:
    """Whole local days without a DST transition, no bookings, no notice or horizon."""
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    first_day = draw(st.dates(*PERIODS[zone]))
    days = draw(st.integers(1, 5))
    assume(not any(first_day + k * DAY in transition_days(zone) for k in range(-1, days + 1)))
    range_start = datetime.combine(first_day, time(0), tz)
    query = SlotQuery(
        zone=zone,
        range_start=range_start,
        range_end=datetime.combine(first_day + days * DAY, time(0), tz),
        now=range_start - DAY,
        **draw(shape_strategy()),
    )
    return Scenario(
        rules=draw(rules_strategy()),
        overrides=draw(overrides_strategy(first_day, days)),
        busy=[],
        query=query,
    )


@PROPERTY_SETTINGS
@given(plain_days_strategy())
def test_completeness_on_days_without_a_transition(scenario: Scenario) -> None:
    """(7) On plain days every start local arithmetic predicts is there, and nothing else."""
    query, tz = scenario.query, scenario.tz
    first_day = query.range_start.date()
    days = (query.range_end.date() - first_day).days
    expected: list[datetime] = []
    for k in range(days):
        day = first_day + k * DAY
        windows = windows_of(day, scenario.rules, scenario.overrides)
        expected += wall_grid(day, windows, query.duration, query.slot_step)
    if not query.overlapping:
        walls = [Slot(start, start + query.duration) for start in expected]
        expected = [slot.start for slot in pack(walls, query)]
    got = [local_wall(slot.start, tz) for slot in scenario.slots()]
    assert len(got) == len(expected)
    assert got == expected


# --- explicit examples --------------------------------------------------------------------


def berlin_query(start: str, end: str, **kwargs) -> SlotQuery:
    kwargs.setdefault("duration", minutes(60))
    kwargs.setdefault("now", utc("2026-01-01T00:00:00+00:00"))
    return SlotQuery(zone="Europe/Berlin", range_start=utc(start), range_end=utc(end), **kwargs)


MONDAY_MORNINGS = [WeeklyRule(0, time(9), time(12))]


@pytest.mark.parametrize(
    ("monday", "first_utc_hour"),
    [
        ("2026-03-23", 8),  # winter time, CET +01:00
        ("2026-03-30", 7),  # the day after spring forward, CEST +02:00
        ("2026-10-19", 7),  # still summer time
        ("2026-10-26", 8),  # the day after fall back
    ],
)
def test_a_berlin_monday_rule_stays_at_nine_local_across_dst(monday, first_utc_hour):
    day = date.fromisoformat(monday)
    query = berlin_query(f"{monday}T00:00:00+00:00", f"{day + DAY}T00:00:00+00:00")
    slots = free_slots(MONDAY_MORNINGS, [], [], query)
    hours = [first_utc_hour, first_utc_hour + 1, first_utc_hour + 2]
    assert [slot.start for slot in slots] == [
        datetime.combine(day, time(hour), UTC) for hour in hours
    ]
    assert [local_wall(slot.start, BERLIN).time() for slot in slots] == [
        time(9),
        time(10),
        time(11),
    ]


def test_every_monday_of_a_year_starts_at_nine_local():
    query = berlin_query("2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")
    slots = free_slots(MONDAY_MORNINGS, [], [], query)
    assert len(slots) == 52 * 3  # 2026 has 52 Mondays
    assert {local_wall(s.start, BERLIN).time() for s in slots} == {time(9), time(10), time(11)}


def test_the_spring_forward_gap_yields_no_slot_starting_or_ending_in_it():
    gap_day = date(2026, 3, 29)  # Berlin: 02:00 CET jumps to 03:00 CEST
    override = [DateOverride(gap_day, ((time(1, 30), time(3, 30)),))]
    quarter = berlin_query(
        "2026-03-28T12:00:00+00:00", "2026-03-29T12:00:00+00:00", duration=minutes(15)
    )
    starts = [s.start for s in free_slots([], override, [], quarter)]
    # 01:30 CET; 01:45 ends at the non-existent 02:00; 02:00-02:45 do not exist; 03:00 CEST
    assert starts == [utc("2026-03-29T00:30Z"), utc("2026-03-29T01:00Z"), utc("2026-03-29T01:15Z")]
    half = berlin_query(
        "2026-03-28T12:00:00+00:00", "2026-03-29T12:00:00+00:00", duration=minutes(30)
    )
    assert free_slots([], override, [], half) == [
        Slot(utc("2026-03-29T01:00Z"), utc("2026-03-29T01:30Z"))  # 03:00-03:30 CEST
    ]


def test_the_repeated_fall_back_hour_gives_no_slot_of_the_wrong_length():
    day = date(2026, 10, 25)  # Berlin: 03:00 CEST falls back to 02:00 CET
    window = [DateOverride(day, ((time(1), time(4)),))]
    common = {"duration": minutes(60), "step": minutes(30), "overlapping": True}
    query = berlin_query("2026-10-24T12:00:00+00:00", "2026-10-25T12:00:00+00:00", **common)
    slots = free_slots([], window, [], query)
    # 01:00 and 01:30 CEST (ending in the first 02:xx); 02:00 and 02:30 would last two
    # hours in real time; 03:00 CET
    assert [s.start for s in slots] == [
        utc("2026-10-24T23:00Z"),
        utc("2026-10-24T23:30Z"),
        utc("2026-10-25T02:00Z"),
    ]
    assert all(s.end - s.start == minutes(60) for s in slots)
    packed = berlin_query(
        "2026-10-24T12:00:00+00:00", "2026-10-25T12:00:00+00:00", step=minutes(30)
    )
    assert [s.start for s in free_slots([], window, [], packed)] == [
        utc("2026-10-24T23:00Z"),
        utc("2026-10-25T02:00Z"),
    ]
    repeated = [DateOverride(day, ((time(2), time(3)),))]
    thirty = berlin_query(
        "2026-10-24T12:00:00+00:00", "2026-10-25T12:00:00+00:00", duration=minutes(30)
    )
    # 02:00-02:30 in its first occurrence; 02:30-03:00 would last 90 minutes
    assert free_slots([], repeated, [], thirty) == [
        Slot(utc("2026-10-25T00:00Z"), utc("2026-10-25T00:30Z"))
    ]


def lord_howe(day: str, windows, **kwargs) -> list[Slot]:
    start = date.fromisoformat(day)
    query = SlotQuery(
        zone="Australia/Lord_Howe",
        duration=minutes(30),
        range_start=datetime.combine(start - DAY, time(0), UTC),
        range_end=datetime.combine(start + DAY, time(0), UTC),
        now=utc("2026-01-01T00:00Z"),
        **kwargs,
    )
    return free_slots([], [DateOverride(start, windows)], [], query)


def test_lord_howe_half_hour_shifts():
    # 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11:00)
    spring = lord_howe("2026-10-04", ((time(1), time(3)),))
    assert [s.start for s in spring] == [utc("2026-10-03T14:30Z"), utc("2026-10-03T15:30Z")]
    # 2026-04-05: 02:00 (+11:00) falls back to 01:30 (+10:30); 01:30-02:00 would last an hour
    autumn = lord_howe("2026-04-05", ((time(1), time(3)),))
    assert [s.start for s in autumn] == [
        utc("2026-04-04T14:00Z"),
        utc("2026-04-04T15:30Z"),
        utc("2026-04-04T16:00Z"),
    ]
    assert all(s.end - s.start == minutes(30) for s in spring + autumn)
    nine = ((time(9), time(9, 30)),)
    assert lord_howe("2026-03-30", nine)[0].start == utc("2026-03-29T22:00Z")  # +11:00
    assert lord_howe("2026-04-06", nine)[0].start == utc("2026-04-05T22:30Z")  # +10:30


def test_an_override_day_off_removes_the_day_and_extra_hours_add_or_replace():
    june = berlin_query("2026-06-14T00:00:00+00:00", "2026-06-23T00:00:00+00:00")
    rules = MONDAY_MORNINGS
    plain = free_slots(rules, [], [], june)
    assert {local_wall(s.start, BERLIN).date() for s in plain} == {
        date(2026, 6, 15),
        date(2026, 6, 22),
    }
    day_off = [DateOverride(date(2026, 6, 15))]
    assert {local_wall(s.start, BERLIN).date() for s in free_slots(rules, day_off, [], june)} == {
        date(2026, 6, 22)
    }
    extra = [
        DateOverride(date(2026, 6, 20), ((time(10), time(12)),)),  # a Saturday
        DateOverride(date(2026, 6, 22), ((time(14), time(15)),)),  # different Monday hours
    ]
    walls = [local_wall(s.start, BERLIN) for s in free_slots(rules, extra, [], june)]
    assert walls == [
        datetime(2026, 6, 15, 9),
        datetime(2026, 6, 15, 10),
        datetime(2026, 6, 15, 11),
        datetime(2026, 6, 20, 10),
        datetime(2026, 6, 20, 11),
        datetime(2026, 6, 22, 14),
    ]


def june_first(**kwargs) -> list[datetime]:
    """Monday 2026-06-01, 09:00-12:00 Berlin = 07:00Z-10:00Z, hourly slots; now 06:00Z."""
    kwargs.setdefault("range_start", utc("2026-06-01T00:00Z"))
    kwargs.setdefault("range_end", utc("2026-06-02T00:00Z"))
    query = SlotQuery(
        zone="Europe/Berlin", duration=minutes(60), now=utc("2026-06-01T06:00Z"), **kwargs
    )
    return [slot.start.replace(tzinfo=None) for slot in free_slots(MONDAY_MORNINGS, [], [], query)]


SEVEN, EIGHT, NINE = (datetime(2026, 6, 1, hour) for hour in (7, 8, 9))
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [SEVEN, EIGHT, NINE]),
        ({"min_notice": minutes(60)}, [SEVEN, EIGHT, NINE]),  # start == now + notice
        ({"min_notice": minutes(60) + SECOND}, [EIGHT, NINE]),
        ({"horizon": minutes(180)}, [SEVEN, EIGHT, NINE]),  # start == now + horizon
        ({"horizon": minutes(180) - SECOND}, [SEVEN, EIGHT]),
        ({"range_start": utc("2026-06-01T07:00Z")}, [SEVEN, EIGHT, NINE]),
        ({"range_start": utc("2026-06-01T07:00:01Z")}, [EIGHT, NINE]),
        ({"range_end": utc("2026-06-01T10:00Z")}, [SEVEN, EIGHT, NINE]),  # end == range_end
        ({"range_end": utc("2026-06-01T09:59:59Z")}, [SEVEN, EIGHT]),
    ],
)
def test_notice_horizon_and_range_edges(kwargs, expected):
    assert june_first(**kwargs) == expected


ELEVEN_SLOT = [DateOverride(date(2026, 6, 1), ((time(13), time(14)),))]  # 11:00Z-12:00Z


def eleven_free(busy: list[Busy], **kwargs) -> bool:
    query = SlotQuery(
        zone="Europe/Berlin",
        duration=minutes(60),
        range_start=utc("2026-06-01T00:00Z"),
        range_end=utc("2026-06-02T00:00Z"),
        now=utc("2026-05-01T00:00Z"),
        **kwargs,
    )
    return free_slots([], ELEVEN_SLOT, busy, query) == [
        Slot(utc("2026-06-01T11:00Z"), utc("2026-06-01T12:00Z"))
    ]


def test_buffers_on_both_sides_keep_bookings_apart():
    # 10:00-10:50 with 10 minutes after holds until 11:00: the 11:00 slot fits only
    # without a buffer of its own (the ranges compared are the exclusion constraint's)
    until_eleven = [Busy(utc("2026-06-01T10:00Z"), utc("2026-06-01T10:50Z"), ZERO, minutes(10))]
    assert eleven_free(until_eleven)
    assert not eleven_free(until_eleven, buffer_before=minutes(15))
    assert not eleven_free(until_eleven, buffer_before=minutes(5))
    # 10:00-10:45 with 10 minutes after holds until 10:55: 5 minutes before fit, 15 do not
    until_1055 = [Busy(utc("2026-06-01T10:00Z"), utc("2026-06-01T10:45Z"), ZERO, minutes(10))]
    assert eleven_free(until_1055, buffer_before=minutes(5))
    assert not eleven_free(until_1055, buffer_before=minutes(15))
    # the other side: a booking at 12:10 with 10 minutes before holds from 12:00
    from_noon = [Busy(utc("2026-06-01T12:10Z"), utc("2026-06-01T13:00Z"), minutes(10), ZERO)]
    assert eleven_free(from_noon)
    assert not eleven_free(from_noon, buffer_after=MINUTE)
    # touching bookings do not block: [10:00, 11:00) and [12:00, 13:00)
    touching = [
        Busy(utc("2026-06-01T10:00Z"), utc("2026-06-01T11:00Z")),
        Busy(utc("2026-06-01T12:00Z"), utc("2026-06-01T13:00Z")),
    ]
    assert eleven_free(touching)
    assert not eleven_free([Busy(utc("2026-06-01T11:59Z"), utc("2026-06-01T12:30Z"))])


def test_booking_buffers_are_real_time_even_when_the_booking_is_given_in_local_time():
    # 03:10 CEST on the spring-forward night is 01:10Z; 30 minutes before is 00:40Z
    # (01:40 CET), not the wall-clock 02:40 that does not exist
    booking = Busy(
        datetime(2026, 3, 29, 3, 10, tzinfo=BERLIN),
        datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN),
        buffer_before=minutes(30),
    )
    window = [DateOverride(date(2026, 3, 29), ((time(1), time(1, 45)),))]
    query = berlin_query(
        "2026-03-28T12:00:00+00:00", "2026-03-29T12:00:00+00:00", duration=minutes(15)
    )
    assert [s.start for s in free_slots([], window, [booking], query)] == [
        utc("2026-03-29T00:00Z"),
        utc("2026-03-29T00:15Z"),
    ]


def test_a_booking_inside_the_repeated_hour_compares_in_real_time():
    new_york = ZoneInfo("America/New_York")  # 2026-11-01: 02:00 EDT falls back to 01:00 EST
    booking = Busy(
        datetime(2026, 11, 1, 1, 50, tzinfo=new_york),  # EDT, 05:50Z
        datetime(2026, 11, 1, 1, 5, fold=1, tzinfo=new_york),  # EST, 06:05Z
    )
    assert booking.blocked == (utc("2026-11-01T05:50Z"), utc("2026-11-01T06:05Z"))


def test_notice_is_real_elapsed_time_across_the_spring_forward_night():
    # now 22:00 CET = 21:00Z; six hours later is 03:00Z = 05:00 CEST (the clock reads 07:00
    # hours later, not 04:00)
    window = [DateOverride(date(2026, 3, 29), ((time(4), time(6)),))]
    query = berlin_query(
        "2026-03-28T12:00:00+00:00",
        "2026-03-29T12:00:00+00:00",
        now=datetime(2026, 3, 28, 22, tzinfo=BERLIN),
        min_notice=timedelta(hours=6),
    )
    assert [s.start for s in free_slots([], window, [], query)] == [utc("2026-03-29T03:00Z")]


def test_step_is_the_start_granularity_and_overlapping_mode_lists_alternatives():
    query = {"duration": minutes(50), "step": minutes(15)}
    day = ("2026-06-01T00:00:00+00:00", "2026-06-02T00:00:00+00:00")
    walls = [
        local_wall(s.start, BERLIN).time()
        for s in free_slots(MONDAY_MORNINGS, [], [], berlin_query(*day, **query))
    ]
    assert walls == [time(9), time(10), time(11)]
    booked = [Busy(utc("2026-06-01T07:00Z"), utc("2026-06-01T07:30Z"))]  # 09:00-09:30 local
    walls = [
        local_wall(s.start, BERLIN).time()
        for s in free_slots(MONDAY_MORNINGS, [], booked, berlin_query(*day, **query))
    ]
    assert walls == [time(9, 30), time(10, 30)]
    alternatives = free_slots(
        MONDAY_MORNINGS, [], booked, berlin_query(*day, overlapping=True, **query)
    )
    assert [local_wall(s.start, BERLIN).time() for s in alternatives] == [
        time(9, 30),
        time(9, 45),
        time(10),
        time(10, 15),
        time(10, 30),
        time(10, 45),
        time(11),
    ]


def test_overlapping_rules_give_no_duplicate_slots():
    rules = [WeeklyRule(0, time(9), time(11)), WeeklyRule(0, time(10), time(12))]
    query = berlin_query("2026-06-01T00:00:00+00:00", "2026-06-02T00:00:00+00:00", overlapping=True)
    walls = [local_wall(s.start, BERLIN).time() for s in free_slots(rules, [], [], query)]
    assert walls == [time(9), time(10), time(11)]


def test_a_window_until_midnight_ends_at_the_end_of_the_day():
    rules = [WeeklyRule(0, time(22), time(0))]
    query = berlin_query("2026-06-01T00:00:00+00:00", "2026-06-03T00:00:00+00:00")
    assert free_slots(rules, [], [], query) == [
        Slot(utc("2026-06-01T20:00Z"), utc("2026-06-01T21:00Z")),
        Slot(utc("2026-06-01T21:00Z"), utc("2026-06-01T22:00Z")),  # 23:00-24:00 local
    ]


def next_query() -> SlotQuery:
    return berlin_query(
        "2026-06-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00", now=utc("2026-06-01T00:00Z")
    )


def test_next_available_gives_the_earliest_slot_or_none():
    query = next_query()
    first_monday = Slot(utc("2026-06-01T07:00Z"), utc("2026-06-01T08:00Z"))
    first_hour = [Busy(utc("2026-06-01T07:00Z"), utc("2026-06-01T08:00Z"))]
    all_june_mondays = [
        Busy(datetime(2026, 6, day, 7, tzinfo=UTC), datetime(2026, 6, day, 10, tzinfo=UTC))
        for day in (1, 8, 15, 22, 29)
    ]
    result = next_available(
        [
            ("no rules", [], [], [], query),
            ("mondays", MONDAY_MORNINGS, [], [], query),
            ("first hour booked", MONDAY_MORNINGS, [], first_hour, query),
            ("fully booked", MONDAY_MORNINGS, [], all_june_mondays, query),
            (
                "override only",
                [],
                [DateOverride(date(2026, 6, 3), ((time(8), time(9)),))],
                [],
                query,
            ),
        ]
    )
    assert result == {
        "no rules": None,
        "mondays": first_monday,
        "first hour booked": Slot(utc("2026-06-01T08:00Z"), utc("2026-06-01T09:00Z")),
        "fully booked": None,
        "override only": Slot(utc("2026-06-03T06:00Z"), utc("2026-06-03T07:00Z")),
    }


def test_next_available_stops_at_the_first_free_day(monkeypatch):
    days_built = []
    wall_starts = engine._wall_starts

    def counting(day, *args):
        days_built.append(day)
        return wall_starts(day, *args)

    monkeypatch.setattr(engine, "_wall_starts", counting)
    engine._day_starts.cache_clear()  # days computed by earlier tests would not be counted
    query = berlin_query(
        "2026-06-01T00:00:00+00:00", "9000-01-01T00:00:00+00:00", now=utc("2026-06-01T00:00Z")
    )
    slot = next(iter_free_slots(MONDAY_MORNINGS, [], [], query))
    assert slot.start == utc("2026-06-01T07:00Z")
    assert len(days_built) <= 3  # the margin day before and the first Monday


def test_the_day_cache_keeps_zones_hours_and_shapes_apart():
    """Days computed once are shared between queries: every part of a query that shapes a
    day's candidates must tell cached days apart, whatever was asked before."""
    rules = [WeeklyRule(6, time(0), time(4)), WeeklyRule(6, time(22), time(0))]
    queries = [
        SlotQuery(
            zone=zone,
            duration=minutes(duration),
            step=None if step is None else minutes(step),
            range_start=utc("2026-03-28T00:00Z"),
            range_end=utc("2026-03-31T00:00Z"),
            now=utc("2026-03-28T00:00Z"),
            overlapping=True,
        )
        for zone in ("Europe/Berlin", "Europe/London", "UTC")
        for duration, step in ((60, None), (30, None), (30, 15), (45, 20))
    ]
    warm = [free_slots(rules, [], [], query) for query in queries]
    cold = []
    for query in queries:
        engine._day_starts.cache_clear()
        cold.append(free_slots(rules, [], [], query))
    assert warm == cold
    assert len({tuple(slots) for slots in cold}) == len(queries)


def test_next_available_across_two_thousand_specialists():
    query = next_query()
    specs = []
    for n in range(2000):
        rules = [WeeklyRule(n % 7, time(8 + n % 5), time(12 + n % 5))]
        busy = [
            Busy(
                utc("2026-06-01T00:00Z") + k * timedelta(hours=7),
                utc("2026-06-01T01:00Z") + k * timedelta(hours=7),
            )
            for k in range(50)
        ]
        specs.append((n, rules, [], busy, query))
    result = next_available(specs)
    assert len(result) == 2000
    for n, rules, _, busy, _ in specs:
        slot = result[n]
        assert slot is not None
        assert slot == free_slots(rules, [], busy, query)[0]


@pytest.mark.parametrize(
    "build",
    [
        lambda: WeeklyRule(7, time(9), time(10)),
        lambda: WeeklyRule(0, time(10), time(9)),
        lambda: WeeklyRule(0, time(9), time(9)),
        lambda: DateOverride(date(2026, 6, 1), ((time(12), time(11)),)),
        lambda: Busy(datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10)),  # naive
        lambda: Busy(utc("2026-06-01T10:00Z"), utc("2026-06-01T09:00Z")),
        lambda: Busy(utc("2026-06-01T09:00Z"), utc("2026-06-01T10:00Z"), -MINUTE),
        lambda: berlin_query("2026-06-02T00:00Z", "2026-06-01T00:00Z"),
        lambda: berlin_query("2026-06-01T00:00Z", "2026-06-02T00:00Z", duration=ZERO),
        lambda: berlin_query("2026-06-01T00:00Z", "2026-06-02T00:00Z", step=ZERO),
        lambda: berlin_query("2026-06-01T00:00Z", "2026-06-02T00:00Z", now=datetime(2026, 1, 1)),
        lambda: SlotQuery(
            zone="Mars/Olympus_Mons",
            duration=minutes(60),
            range_start=utc("2026-06-01T00:00Z"),
            range_end=utc("2026-06-02T00:00Z"),
            now=utc("2026-06-01T00:00Z"),
        ),
        lambda: free_slots(
            [],
            [DateOverride(date(2026, 6, 1)), DateOverride(date(2026, 6, 1))],
            [],
            berlin_query("2026-06-01T00:00Z", "2026-06-02T00:00Z"),
        ),
    ],
)
def test_bad_input_is_a_clear_error(build):
    with pytest.raises(ValueError):
        build()
