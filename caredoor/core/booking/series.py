"""Recurring sessions: weekly or every other week, every occurrence checked.

Occurrences keep the first session's *local* wall-clock time in the specialist's zone, so
a Monday 09:00 Berlin series stays at 09:00 across daylight-saving changes (its UTC time
moves). ``preview`` checks every occurrence and names each conflict before anything is
written; ``do_create_series`` writes all occurrences or none (unless asked to skip the
conflicting ones), under the specialist's lock, re-checking each. A series can be moved
or cancelled from one occurrence onward; earlier occurrences stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking import lifecycle, notify, writes
from caredoor.core.booking.actions import (
    locked,
    new_booking,
    record,
    require_aware,
    require_patient,
    side_of,
)
from caredoor.core.booking.errors import SeriesConflicts
from caredoor.core.booking.models import Booking, BookingSeries, BookingStatus, Origin
from caredoor.core.booking.proposals import require_specialist_of
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType

MAX_OCCURRENCES = 52


@dataclass(frozen=True)
class Occurrence:
    index: int  # 0-based position in the series
    start: datetime | None  # UTC; None when the local time does not exist that day
    end: datetime | None
    local: datetime  # the intended local wall-clock start (naive)
    conflict: str = ""  # why it cannot be booked ('' = free)
    conflicting_booking: int | None = None

    @property
    def ok(self) -> bool:
        return not self.conflict


def _local_exists(naive: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of local ``naive`` in ``zone``, None inside a spring-forward gap."""
    aware = naive.replace(tzinfo=zone)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return utc


def plan(
    session_type: SessionType, first_start: datetime, interval_weeks: int, count: int
) -> list[tuple[datetime, datetime | None]]:
    """(local naive start, UTC start or None) of each occurrence."""
    if interval_weeks not in (1, 2):
        raise ValidationError(_("Choose weekly or every other week."), code="bad_interval")
    if not 2 <= count <= MAX_OCCURRENCES:
        raise ValidationError(
            _("A series has from 2 to %(n)s sessions.") % {"n": MAX_OCCURRENCES},
            code="bad_count",
        )
    zone = ZoneInfo(session_type.profile.time_zone or "UTC")
    local_first = require_aware(first_start).astimezone(zone).replace(tzinfo=None)
    result = []
    for i in range(count):
        local = local_first + timedelta(weeks=interval_weeks * i)
        result.append((local, _local_exists(local, zone)))
    return result


def _check(
    session_type: SessionType,
    planned: list[tuple[datetime, datetime | None]],
    *,
    now: datetime,
    ignore: tuple[int, ...] = (),
) -> list[Occurrence]:
    duration = timedelta(minutes=session_type.duration_minutes)
    taken: list[tuple[datetime, datetime]] = []
    occurrences = []
    for i, (local, start) in enumerate(planned):
        if start is None:
            occurrences.append(
                Occurrence(
                    i, None, None, local, str(_("This local time does not exist (clock change)."))
                )
            )
            continue
        _start, _end, blocked = writes.blocked_range(session_type, start)
        conflict, other = "", None
        if start <= now:
            conflict = str(_("In the past."))
        else:
            clash = writes.overlapping(session_type.profile_id, blocked, ignore=ignore)
            if clash is not None:
                conflict, other = str(_("Overlaps another booking.")), clash.pk
            elif any(a < blocked[1] and blocked[0] < b for a, b in taken):
                conflict = str(_("Overlaps another session of this series."))
        if not conflict:
            taken.append(blocked)
        occurrences.append(Occurrence(i, start, start + duration, local, conflict, other))
    return occurrences


def preview(
    session_type: SessionType,
    *,
    first_start: datetime,
    interval_weeks: int,
    count: int,
    now: datetime | None = None,
) -> list[Occurrence]:
    """Every occurrence with its conflict, nothing written."""
    return _check(
        session_type,
        plan(session_type, first_start, interval_weeks, count),
        now=now or timezone.now(),
    )


def _write(
    occurrences: list[Occurrence],
    *,
    skip_conflicts: bool,
    make: Any,
) -> list[Booking]:
    if any(not o.ok for o in occurrences) and not skip_conflicts:
        raise SeriesConflicts(occurrences)
    rows = [make(o) for o in occurrences if o.ok]
    if not rows:
        raise SeriesConflicts(occurrences)
    return writes.insert(rows)


def do_create_series(
    *,
    actor: Any,
    brand: Brand,
    patient: Any,
    session_type: SessionType,
    first_start: datetime,
    interval_weeks: int,
    count: int,
    skip_conflicts: bool = False,
    request: HttpRequest | None = None,
) -> BookingSeries:
    """The specialist schedules a confirmed series for ``patient``.

    Raises ``SeriesConflicts`` (nothing written) when any occurrence is not free, unless
    ``skip_conflicts``: then the free ones are booked and the rest left out.
    """
    require_specialist_of(session_type, actor, brand)
    require_patient(patient, brand)
    planned = plan(session_type, first_start, interval_weeks, count)
    with transaction.atomic():
        writes.lock_specialist(session_type.profile_id)
        occurrences = _check(session_type, planned, now=timezone.now())
        series = BookingSeries(
            brand=brand,
            profile_id=session_type.profile_id,
            patient=patient,
            session_type=session_type,
            interval_weeks=interval_weeks,
            count=count,
            created_by=actor,
        )
        if any(not o.ok for o in occurrences) and not skip_conflicts:
            raise SeriesConflicts(occurrences)
        series.save()
        rows = _write(
            occurrences,
            skip_conflicts=skip_conflicts,
            make=lambda o: new_booking(
                patient=patient,
                brand=brand,
                session_type=session_type,
                start=o.start,
                status=BookingStatus.CONFIRMED,
                origin=Origin.SERIES,
                created_by=actor,
                series=series,
            ),
        )
        for row in rows:
            record(
                "booking.created",
                row,
                actor=actor,
                side="specialist",
                request=request,
                series=series.pk,
                session_type=session_type.pk,
                status=row.status,
            )
        # One notification for the series (its first session; the email lists the dates).
        notify.booking_event(notify.SCHEDULED, rows[0], by="specialist")
    return series


OPEN = (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT)


def _onward(booking: Booking, *, lock: bool = True) -> list[Booking]:
    rows = Booking.objects.filter(
        series_id=booking.series_id, start__gte=booking.start, status__in=OPEN
    ).order_by("start")
    return list(rows.select_for_update() if lock else rows)


def _require_series_specialist(booking: Booking, actor: Any) -> None:
    if booking.series_id is None:
        raise ValidationError(_("This session is not part of a series."), code="no_series")
    if side_of(booking, actor) != "specialist":
        raise ValidationError(_("Only the specialist can change the series."), code="not_allowed")


def preview_change_from(
    booking: Booking, *, new_start: datetime, now: datetime | None = None
) -> list[Occurrence]:
    """The occurrences from ``booking`` onward moved so the first starts at ``new_start``."""
    onward = _onward(booking, lock=False)
    series = booking.series
    planned = plan(booking.session_type, new_start, series.interval_weeks, max(len(onward), 2))
    return _check(
        booking.session_type,
        planned[: len(onward)],
        now=now or timezone.now(),
        ignore=tuple(b.pk for b in onward),
    )


def do_change_series_from(
    booking: Booking,
    *,
    actor: Any,
    new_start: datetime,
    skip_conflicts: bool = False,
    request: HttpRequest | None = None,
) -> list[Booking]:
    """Move ``booking`` and every later open occurrence of its series: the first to
    ``new_start``, the rest keeping the series' rhythm at the new local time. Each moved
    occurrence is "rescheduled" and replaced by a new booking (history stays)."""
    _require_series_specialist(booking, actor)
    new_start = require_aware(new_start)
    with transaction.atomic():
        writes.lock_specialist(booking.profile_id)
        onward = _onward(booking)
        if not onward:
            raise ValidationError(_("Nothing left to change in this series."), code="nothing")
        series = booking.series
        planned = plan(booking.session_type, new_start, series.interval_weeks, max(len(onward), 2))[
            : len(onward)
        ]
        occurrences = _check(
            booking.session_type, planned, now=timezone.now(), ignore=tuple(b.pk for b in onward)
        )
        if any(not o.ok for o in occurrences) and not skip_conflicts:
            raise SeriesConflicts(occurrences)
        moved: list[Booking] = []
        for old, occurrence in zip(onward, occurrences, strict=True):
            if not occurrence.ok:
                continue
            lifecycle.transition(old, BookingStatus.RESCHEDULED)
            new = new_booking(
                patient=old.patient,
                brand=old.brand,
                session_type=old.session_type,
                start=occurrence.start,
                status=BookingStatus.CONFIRMED,
                origin=Origin.SERIES,
                created_by=actor,
                policy_snapshot=old.policy,
                rescheduled_from=old,
                series=series,
            )
            new.price_minor, new.currency = old.price_minor, old.currency
            writes.insert([new])
            record(
                "booking.rescheduled",
                new,
                actor=actor,
                side="specialist",
                request=request,
                previous=old.pk,
                previous_start=old.start.isoformat(),
                series=series.pk,
            )
            moved.append(new)
        if not moved:
            raise SeriesConflicts(occurrences)
        notify.booking_event(notify.RESCHEDULED, moved[0], by="specialist")
    return moved


def do_cancel_series_from(
    booking: Booking, *, actor: Any, reason: str = "", request: HttpRequest | None = None
) -> list[Booking]:
    """Cancel ``booking`` and every later open occurrence (by the specialist)."""
    _require_series_specialist(booking, actor)
    with transaction.atomic():
        writes.lock_specialist(booking.profile_id)
        onward = _onward(booking)
        now = timezone.now()
        for row in onward:
            current = locked(row)
            current.cancelled_at = now
            current.cancel_reason = reason.strip()
            lifecycle.transition(
                current,
                BookingStatus.CANCELLED_BY_SPECIALIST,
                fields=("cancelled_at", "cancel_reason"),
            )
            record(
                "booking.cancelled",
                current,
                actor=actor,
                side="specialist",
                request=request,
                by="specialist",
                series=booking.series_id,
                with_reason=bool(reason.strip()),
            )
        if onward:
            notify.booking_event(notify.CANCELLED, onward[0], by="specialist")
    return onward
