"""Reads about rooms: who is in the room now, how long each side attended and how long
they were there together (``session_durations``, for settlement and reports), and the
video session a pair could join now (``joinable_now``, for the conversation page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from caredoor.core.booking.join import is_joinable
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.video.models import Attendance, Room, RoomKind, Side
from caredoor.core.video.rules import ADHOC_LIFETIME

Interval = tuple[datetime, datetime]


def present(room: Room) -> set[str]:
    """The sides with a client in the room now (joined, not left)."""
    return set(
        Attendance.objects.filter(room=room, left_at__isnull=True).values_list("side", flat=True)
    )


def _spans(room: Room, now: datetime) -> dict[str, list[Interval]]:
    spans: dict[str, list[Interval]] = {}
    for side, joined, left in Attendance.objects.filter(room=room).values_list(
        "side", "joined_at", "left_at"
    ):
        spans.setdefault(side, []).append((joined, max(joined, left or now)))
    return spans


def _merged(intervals: list[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined (two tabs of one side count once)."""
    merged: list[Interval] = []
    for joined, left in sorted(intervals):
        if merged and joined <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], left))
        else:
            merged.append((joined, left))
    return merged


def _length(intervals: list[Interval]) -> timedelta:
    return sum((left - joined for joined, left in intervals), timedelta(0))


def _overlap(a: list[Interval], b: list[Interval]) -> timedelta:
    """The time two merged interval lists have in common."""
    total, i, j = timedelta(0), 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


def attended(room: Room, now: datetime | None = None) -> dict[str, timedelta]:
    """Time in the room per side; overlapping joins of one side (two tabs) count once."""
    spans = _spans(room, now or timezone.now())
    return {side: _length(_merged(intervals)) for side, intervals in spans.items()}


@dataclass(frozen=True)
class Durations:
    """How a room was used: time per side (two tabs counted once), the time both sides
    were in the room together, and each side's first join (None: never joined)."""

    patient: timedelta
    specialist: timedelta
    together: timedelta
    patient_joined: datetime | None
    specialist_joined: datetime | None

    @property
    def anyone(self) -> bool:
        return self.patient_joined is not None or self.specialist_joined is not None


def session_durations(room: Room, now: datetime | None = None) -> Durations:
    """The durations of one room; an attendance still open counts until ``now``."""
    spans = _spans(room, now or timezone.now())
    patient = _merged(spans.get(Side.PATIENT, []))
    specialist = _merged(spans.get(Side.SPECIALIST, []))
    return Durations(
        patient=_length(patient),
        specialist=_length(specialist),
        together=_overlap(patient, specialist),
        patient_joined=patient[0][0] if patient else None,
        specialist_joined=specialist[0][0] if specialist else None,
    )


# --- what the pair can join now -----------------------------------------------------------


def open_adhoc_room(brand: Brand, patient_id: int, profile_id: int, now: datetime) -> Room | None:
    """The pair's ad-hoc call that can still be entered (not ended, not expired)."""
    return (
        Room.objects.filter(
            brand=brand,
            kind=RoomKind.ADHOC,
            patient_id=patient_id,
            profile_id=profile_id,
            closed_at__isnull=True,
            created_at__gt=now - ADHOC_LIFETIME,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def joinable_now(
    brand: Brand, patient_id: Any, profile_id: Any, now: datetime
) -> Booking | Room | None:
    """A confirmed booking of the pair on ``brand`` whose room is open now (the one that
    started first), else the pair's open ad-hoc call where the brand allows them, else
    None. Who may enter is still decided by ``rules`` on the page the link leads to."""
    if not patient_id or not profile_id:
        return None
    lead = timedelta(minutes=brand.video_join_lead_minutes)
    grace = timedelta(minutes=brand.video_join_grace_minutes)
    candidates = Booking.objects.select_related("brand").filter(
        brand=brand,
        patient_id=patient_id,
        profile_id=profile_id,
        status=BookingStatus.CONFIRMED,
        start__lte=now + lead,
        end__gte=now - grace,
    )
    for booking in candidates.order_by("start", "pk"):
        if is_joinable(booking, now):
            return booking
    if brand.video_adhoc_calls:
        return open_adhoc_room(brand, patient_id, profile_id, now)
    return None
