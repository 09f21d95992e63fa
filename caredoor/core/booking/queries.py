"""Reads of bookings for the slot engine and the booking actions."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, time, timedelta
from itertools import groupby
from operator import itemgetter

from django.db.models import CharField, F, Lookup
from django.db.models.functions import Cast

from caredoor.core.booking.models import Booking
from caredoor.core.scheduling import engine
from caredoor.core.scheduling.availability import queries_for
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.specialists.models import SpecialistProfile


def busy_intervals(
    profile: SpecialistProfile | int, start: datetime, end: datetime
) -> list[engine.Busy]:
    """The specialist's active bookings whose blocked range overlaps ``[start, end)``,
    each with its own buffers, as the slot engine takes them."""
    profile_id = profile if isinstance(profile, int) else profile.pk
    rows = (
        Booking.objects.filter(profile_id=profile_id)
        .blocking(start, end)
        .values_list("start", "end", "blocked_start", "blocked_end")
    )
    return [engine.Busy(s, e, buffer_before=s - bs, buffer_after=be - e) for s, e, bs, be in rows]


def next_available(
    session_types: list[SessionType],
    *,
    now: datetime,
    days: int = 30,
    start: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, engine.Slot | None]:
    """The first free slot of each session type within ``days``, for many specialists at
    once (the directory): the same slot ``availability.free_slots`` gives first for each,
    with all of the specialist's bookings.

    ``start``/``until`` look in ``[start, until)`` instead of the ``days`` from now (the
    directory's "available between"): slots still need their notice and lie within their
    horizon counted from ``now``, and a slot must end by ``until``.

    The weekly hours are loaded once. Most specialists have a free slot within the first
    days, so bookings and date overrides are loaded for a short window first; only those
    still without a slot look further."""
    if not session_types:
        return {}
    begin = now if start is None else max(start, now)
    stop = begin + timedelta(days=days) if until is None else until
    if stop <= begin:
        return {st.pk: None for st in session_types}
    rules = _WeeklyRules.load({st.profile_id for st in session_types})
    found: dict[int, engine.Slot | None] = {}
    remaining = list(session_types)
    windows = sorted({min(stop, begin + timedelta(days=window)) for window in PASS_DAYS} | {stop})
    for window_end in windows:
        found.update(_next_available(remaining, rules, now=now, start=begin, end=window_end))
        remaining = [st for st in remaining if found[st.pk] is None]
        if not remaining:
            break
    return found


PASS_DAYS = (3,)


class _AnyOf(Lookup):
    """``column IN (ids)`` with the ids as one parameter: a PostgreSQL array, a JSON array
    on SQLite. For the directory's thousands of ids this saves preparing, sending and (on
    PostgreSQL) parsing thousands of placeholders in every query. Elsewhere a plain IN."""

    prepare_rhs = False

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, params = self.process_lhs(compiler, connection)  # a column: SQL Django wrote
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*params, self.rhs]
        if connection.vendor == "sqlite":
            sql = f"{lhs} IN (SELECT value FROM json_each(%s))"  # noqa: S608 - ids are a parameter
            return sql, [*params, json.dumps(self.rhs)]
        if not self.rhs:
            return "1 = 0", params
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]


def _any_of(column: str, ids: set[int]) -> _AnyOf:
    return _AnyOf(F(column), sorted(int(i) for i in ids))


class _WeeklyRules:
    """The weekly hours of many specialists: general ones by profile, and the ones reserved
    for one session type by (profile, session type)."""

    def __init__(self) -> None:
        self.general: dict[int, tuple[engine.WeeklyRule, ...]] = {}
        self.reserved: dict[tuple[int, int], tuple[engine.WeeklyRule, ...]] = {}

    @classmethod
    def load(cls, profile_ids: set[int]) -> _WeeklyRules:
        """One query. Thousands of specialists share a few hours: each distinct rule and
        each distinct set of rules is built once (times arrive as text, since converting
        every time value would cost more than the query itself on SQLite), which also keeps
        the work for the garbage collector small."""
        loaded = cls()
        made: dict[tuple[int, str, str], engine.WeeklyRule] = {}
        shared: dict[tuple[engine.WeeklyRule, ...], tuple[engine.WeeklyRule, ...]] = {}
        rows = (
            AvailabilityRule.objects.filter(_any_of("profile_id", profile_ids))
            .order_by("profile_id")  # each specialist's rules together
            .values_list(
                "session_type_id",
                "profile_id",
                "weekday",
                Cast("start_time", CharField()),
                Cast("end_time", CharField()),
            )
        )
        for profile_id, group in groupby(rows, key=itemgetter(1)):
            by_type: dict[int | None, list[engine.WeeklyRule]] = defaultdict(list)
            for type_id, _, weekday, start, end in group:
                rule = made.get((weekday, start, end))
                if rule is None:
                    rule = made[weekday, start, end] = engine.WeeklyRule(
                        weekday, time.fromisoformat(start), time.fromisoformat(end)
                    )
                by_type[type_id].append(rule)
            for type_id, rules in by_type.items():
                key = tuple(rules)
                if type_id is None:
                    loaded.general[profile_id] = shared.setdefault(key, key)
                else:
                    loaded.reserved[profile_id, type_id] = shared.setdefault(key, key)
        return loaded

    def of(self, session_type: SessionType) -> tuple[engine.WeeklyRule, ...]:
        """The specialist's general hours plus the hours reserved for this session type."""
        pid = session_type.profile_id
        return self.general.get(pid, ()) + self.reserved.get((pid, session_type.pk), ())


def _next_available(
    session_types: list[SessionType],
    rules: _WeeklyRules,
    *,
    now: datetime,
    start: datetime,
    end: datetime,
) -> dict[int, engine.Slot | None]:
    """Two queries for all the session types, then the engine stops at each first slot in
    ``[start, end)``."""
    profile_ids = {st.profile_id for st in session_types}
    overrides: dict[int, list[engine.DateOverride]] = defaultdict(list)
    for pid, day, windows in (
        DateOverride.objects.filter(
            _any_of("profile_id", profile_ids),
            day__gte=(start - timedelta(days=1)).date(),
            day__lte=(end + timedelta(days=1)).date(),
        )
        .order_by()
        .values_list("profile_id", "day", "windows")
    ):
        spans = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in windows)
        overrides[pid].append(engine.DateOverride(day, spans))
    # A slot in [start, end) with its buffers reaches from `start - buffer before` to
    # `end + buffer after`: a booking blocking only that margin still takes it.
    reach_before = timedelta(minutes=max(st.buffer_before_minutes for st in session_types))
    reach_after = timedelta(minutes=max(st.buffer_after_minutes for st in session_types))
    # Plain rows by profile; each specialist's Busy objects are made only when the engine
    # gets to it, so few objects live long (and the garbage collector has little to do).
    blocked = list(
        Booking.objects.filter(_any_of("profile_id", profile_ids))
        .blocking(start - reach_before, end + reach_after)
        .order_by("profile_id")
        .values_list("profile_id", "blocked_start", "blocked_end")
    )
    rows_of: dict[int, tuple[int, int]] = {}
    first = 0
    for pid, group in groupby(blocked, key=itemgetter(0)):
        count = sum(1 for _ in group)
        rows_of[pid] = (first, first + count)
        first += count

    def busy(pid: int) -> list[engine.Busy]:
        # The engine compares blocked ranges only: the booking with its buffers folded in.
        lo, hi = rows_of.get(pid, (0, 0))
        return [engine.Busy(start, stop) for _, start, stop in blocked[lo:hi]]

    queries = queries_for(session_types, start=start, end=end, now=now)
    specs = (
        (
            st.pk,
            rules.of(st),
            overrides.get(st.profile_id, ()),
            busy(st.profile_id),
            queries[st.pk],
        )
        for st in session_types
    )
    return engine.next_available(specs)
