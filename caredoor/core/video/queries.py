"""Reads about rooms: who is in the room now, and how long each side attended."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from caredoor.core.video.models import Attendance, Room


def present(room: Room) -> set[str]:
    """The sides with a client in the room now (joined, not left)."""
    return set(
        Attendance.objects.filter(room=room, left_at__isnull=True).values_list("side", flat=True)
    )


def attended(room: Room, now: datetime | None = None) -> dict[str, timedelta]:
    """Time in the room per side; overlapping joins of one side (two tabs) count once."""
    now = now or timezone.now()
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for side, joined, left in Attendance.objects.filter(room=room).values_list(
        "side", "joined_at", "left_at"
    ):
        spans.setdefault(side, []).append((joined, left or now))
    totals: dict[str, timedelta] = {}
    for side, intervals in spans.items():
        total = timedelta(0)
        start, end = None, None
        for joined, left in sorted(intervals):
            if end is None or joined > end:  # a new stretch
                if start is not None and end is not None:
                    total += end - start
                start, end = joined, left
            else:  # overlaps the current stretch
                end = max(end, left)
        if start is not None and end is not None:
            total += end - start
        totals[side] = total
    return totals
