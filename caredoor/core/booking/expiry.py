"""Lapsing what was not answered in time: proposals, unpaid bookings, availability requests.

Derived from database state (``expires_at`` / ``respond_by``), so the periodic job can run
any number of times and after any outage: each row is locked and re-checked, and moves
only once (the lifecycle allows "expired" only from open states).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from caredoor.core.booking import lifecycle, notify
from caredoor.core.booking.actions import record
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingStatus,
    Origin,
    RequestStatus,
)
from caredoor.core.compliance import audit

LAPSING = (BookingStatus.PROPOSED, BookingStatus.PENDING_PAYMENT)


def expire_booking(pk: int, now: datetime | None = None) -> bool:
    """Expire one proposal or unpaid booking if it is still open and overdue."""
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            Booking.objects.select_for_update()
            .select_related("brand", "profile")
            .filter(pk=pk, status__in=LAPSING, expires_at__lte=now)
            .first()
        )
        if current is None:
            return False
        previous = lifecycle.transition(current, BookingStatus.EXPIRED)
        record(
            "booking.expired",
            current,
            actor=None,
            side="system",
            request=None,
            **{"from": previous},
        )
        if not (current.origin == Origin.PATIENT and previous == BookingStatus.PENDING_PAYMENT):
            notify.booking_event(notify.EXPIRED, current, by="system", previous=previous)
        # A patient's own checkout that was never paid ends quietly: nobody else knew of
        # it, and the pay page told the patient when the hold would end.
    return True


def expire_request(pk: int, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            AvailabilityRequest.objects.select_for_update()
            .select_related("brand")
            .filter(pk=pk, status=RequestStatus.REQUESTED, respond_by__lte=now)
            .first()
        )
        if current is None:
            return False
        lifecycle.transition_request(current, RequestStatus.EXPIRED)
        audit.record(
            "availability_request.expired",
            actor_label="system",
            target=current,
            brand=current.brand,
            data={"profile": current.profile_id},
        )
        notify.request_event(notify.REQUEST_EXPIRED, current, by="system")
    return True


def expire_overdue(now: datetime | None = None) -> int:
    """Expire everything overdue at ``now``; returns how many rows moved."""
    now = now or timezone.now()
    moved = 0
    for pk in Booking.objects.filter(status__in=LAPSING, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        moved += expire_booking(pk, now)
    for pk in AvailabilityRequest.objects.filter(
        status=RequestStatus.REQUESTED, respond_by__lte=now
    ).values_list("pk", flat=True):
        moved += expire_request(pk, now)
    return moved
