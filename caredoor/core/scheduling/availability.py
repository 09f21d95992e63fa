"""From the database to the slot engine: a specialist's free slots for one session type."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from caredoor.core.scheduling import engine
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType


def _rules(session_type: SessionType) -> list[engine.WeeklyRule]:
    """The specialist's general hours plus the hours reserved for this session type."""
    rows = AvailabilityRule.objects.filter(profile_id=session_type.profile_id).filter(
        session_type__isnull=True
    ) | AvailabilityRule.objects.filter(session_type=session_type)
    return [engine.WeeklyRule(r.weekday, r.start_time, r.end_time) for r in rows]


def _overrides(
    session_type: SessionType, first: datetime, last: datetime
) -> list[engine.DateOverride]:
    rows = DateOverride.objects.filter(
        profile_id=session_type.profile_id,
        day__gte=(first - timedelta(days=1)).date(),
        day__lte=(last + timedelta(days=1)).date(),
    )
    return [
        engine.DateOverride(
            row.day, tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in row.windows)
        )
        for row in rows
    ]


def query_for(
    session_type: SessionType,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    overlapping: bool = True,
) -> engine.SlotQuery:
    return engine.SlotQuery(
        zone=session_type.profile.time_zone or "UTC",
        duration=timedelta(minutes=session_type.duration_minutes),
        buffer_before=timedelta(minutes=session_type.buffer_before_minutes),
        buffer_after=timedelta(minutes=session_type.buffer_after_minutes),
        step=timedelta(minutes=session_type.slot_step_minutes),
        min_notice=timedelta(minutes=session_type.min_notice_minutes),
        horizon=timedelta(days=session_type.horizon_days),
        range_start=start,
        range_end=end,
        now=now,
        overlapping=overlapping,
    )


def free_slots(
    session_type: SessionType,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    busy: Iterable[engine.Busy] = (),
) -> list[engine.Slot]:
    """Free slots of ``session_type`` in [start, end). ``busy``: the specialist's existing
    bookings with their buffers (the booking engine supplies them)."""
    return engine.free_slots(
        _rules(session_type),
        _overrides(session_type, start, end),
        list(busy),
        query_for(session_type, start=start, end=end, now=now),
    )


def _shape(session_type: SessionType) -> tuple[str, int, int, int, int, int, int]:
    """Everything ``query_for`` reads from a session type and its specialist."""
    return (
        session_type.profile.time_zone or "UTC",
        session_type.duration_minutes,
        session_type.buffer_before_minutes,
        session_type.buffer_after_minutes,
        session_type.slot_step_minutes,
        session_type.min_notice_minutes,
        session_type.horizon_days,
    )


def queries_for(
    session_types: Iterable[SessionType], *, start: datetime, end: datetime, now: datetime
) -> dict[int, engine.SlotQuery]:
    """``query_for`` for many session types at once, by primary key: the directory asks for
    thousands, most of them alike, so each distinct shape is built (and checked) once.
    Keep ``_shape`` in step with what ``query_for`` reads."""
    built: dict[tuple[str, int, int, int, int, int, int], engine.SlotQuery] = {}
    found: dict[int, engine.SlotQuery] = {}
    for session_type in session_types:
        shape = _shape(session_type)
        query = built.get(shape)
        if query is None:
            query = built[shape] = query_for(session_type, start=start, end=end, now=now)
        found[session_type.pk] = query
    return found
