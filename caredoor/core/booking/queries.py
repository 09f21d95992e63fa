"""Reads of bookings for the slot engine and the booking actions."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from caredoor.core.booking.models import Booking
from caredoor.core.scheduling import engine
from caredoor.core.scheduling.availability import query_for
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
    session_types: list[SessionType], *, now: datetime, days: int = 30
) -> dict[int, engine.Slot | None]:
    """The first free slot of each session type within ``days``, for many specialists at
    once (the directory). Most specialists have a free slot within the first days, so the
    first pass loads only a short window; only those still without one look further."""
    found: dict[int, engine.Slot | None] = {}
    remaining = list(session_types)
    for window in sorted({min(days, FIRST_PASS_DAYS), days}):
        found.update(_next_available(remaining, now=now, days=window))
        remaining = [st for st in remaining if found[st.pk] is None]
        if not remaining:
            break
    return found


FIRST_PASS_DAYS = 3


def _next_available(
    session_types: list[SessionType], *, now: datetime, days: int
) -> dict[int, engine.Slot | None]:
    """Three queries for all the session types, then the engine stops at each first slot."""
    end = now + timedelta(days=days)
    profile_ids = {st.profile_id for st in session_types}
    rules: dict[int, list[tuple[int | None, engine.WeeklyRule]]] = defaultdict(list)
    for pid, type_id, weekday, start, stop in AvailabilityRule.objects.filter(
        profile_id__in=profile_ids
    ).values_list("profile_id", "session_type_id", "weekday", "start_time", "end_time"):
        rules[pid].append((type_id, engine.WeeklyRule(weekday, start, stop)))
    overrides: dict[int, list[engine.DateOverride]] = defaultdict(list)
    for row in DateOverride.objects.filter(
        profile_id__in=profile_ids,
        day__gte=(now - timedelta(days=1)).date(),
        day__lte=(end + timedelta(days=1)).date(),
    ):
        windows = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in row.windows)
        overrides[row.profile_id].append(engine.DateOverride(row.day, windows))
    busy: dict[int, list[engine.Busy]] = defaultdict(list)
    for pid, s, e, bs, be in (
        Booking.objects.filter(profile_id__in=profile_ids)
        .blocking(now, end)
        .values_list("profile_id", "start", "end", "blocked_start", "blocked_end")
    ):
        busy[pid].append(engine.Busy(s, e, buffer_before=s - bs, buffer_after=be - e))
    specs = (
        (
            st.pk,
            [rule for type_id, rule in rules[st.profile_id] if type_id in (None, st.pk)],
            overrides[st.profile_id],
            busy[st.profile_id],
            query_for(st, start=now, end=end, now=now),
        )
        for st in session_types
    )
    return engine.next_available(specs)
