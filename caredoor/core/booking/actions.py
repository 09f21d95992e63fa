"""Booking state changes: each atomic and audited (ARCHITECTURE rules 1 and 6).

No double booking: ``do_book`` checks, inside one transaction, that no active booking of the
specialist overlaps the new booking's blocked range (its time plus the session type's
buffers) and inserts it. On SQLite the transaction is BEGIN IMMEDIATE (settings), which
takes the database write lock before the check, so check-then-insert is serialized across
connections and processes. On PostgreSQL concurrent checks may both pass; the exclusion
constraint then lets only one insert commit and the other's IntegrityError is mapped to the
same ``SlotTaken``. Either way a losing racer gets ``SlotTaken`` with fresh alternatives.

On PostgreSQL the transaction first locks the specialist's profile row (SELECT ... FOR
UPDATE; a no-op on SQLite, which already holds the database write lock). Without it, two
concurrent inserts of *different but overlapping* ranges each wait for the other while
checking the exclusion constraint and one dies with "deadlock detected" (the overlapping
race test found this). With it, bookings of one specialist are made one at a time, the
pre-check sees every committed booking, and the constraint stays the backstop for writes
that bypass this action.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.policy import Role
from caredoor.core.accounts.queries import memberships_on_brand
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.models import (
    ACTIVE_STATUSES,
    NO_OVERLAP_CONSTRAINT,
    Booking,
    BookingStatus,
)
from caredoor.core.booking.queries import busy_intervals
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.scheduling import availability
from caredoor.core.scheduling.engine import Slot
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.models import Listing, SpecialistProfile
from caredoor.core.specialists.pricing import listing_price
from caredoor.core.specialists.queries import public_profiles_on

ALTERNATIVES = 5
# SQLite: busy_timeout (10 s) normally absorbs waiting for the write lock. Should it still
# give up with "database is locked" (or PostgreSQL report a deadlock, which the profile lock
# should prevent), the whole transaction is retried a few times -- only when do_book owns
# the transaction: inside a caller's transaction a retry would be wrong.
LOCK_RETRIES = 5
DEADLOCK_DETECTED = "40P01"


class _Taken(Exception):
    """Internal: the blocked range overlaps an active booking."""


def _not_available() -> ValidationError:
    return ValidationError(_("This time is not available."), code="not_available")


def _validate(*, patient: Any, brand: Brand, session_type: SessionType, start: datetime) -> None:
    """Everything but the overlap check; raises ValidationError, writes nothing."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValidationError(_("The start time must include its time zone."), code="naive")
    if not memberships_on_brand(patient, brand).filter(role=Role.PATIENT).exists():
        raise ValidationError(
            _("Only patients of this service can book sessions here."), code="not_patient"
        )
    profile_id = session_type.profile_id
    if not public_profiles_on(brand).filter(profile_id=profile_id).exists():
        raise ValidationError(
            _("This specialist cannot be booked on this service."), code="not_listed"
        )
    if not session_type.is_active or session_type.brand_id not in (None, brand.pk):
        raise ValidationError(
            _("This session type is not offered here."), code="session_type_unavailable"
        )
    if not session_type.direct_booking:
        raise ValidationError(
            _("This session type can only be booked by the specialist's invitation."),
            code="invitation_only",
        )


def _offered(session_type: SessionType, start: datetime, now: datetime) -> bool:
    """Whether ``start`` is a start the specialist's hours offer (grid, notice, horizon),
    bookings aside: those are checked inside the transaction."""
    duration = timedelta(minutes=session_type.duration_minutes)
    slots = availability.free_slots(
        session_type,
        start=start - timedelta(days=1),
        end=start + timedelta(days=1) + duration,
        now=now,
    )
    return any(slot.start == start for slot in slots)


def next_free_slots(
    session_type: SessionType, *, now: datetime | None = None, limit: int = ALTERNATIVES
) -> list[Slot]:
    """The next ``limit`` free slots of ``session_type`` from ``now``, bookings included."""
    now = now or timezone.now()
    end = now + timedelta(days=session_type.horizon_days, minutes=session_type.duration_minutes)
    buffers = timedelta(
        minutes=session_type.buffer_before_minutes + session_type.buffer_after_minutes
    )
    busy = busy_intervals(session_type.profile_id, now - buffers, end + buffers)
    return availability.free_slots(session_type, start=now, end=end, now=now, busy=busy)[:limit]


def _is_no_overlap_violation(error: IntegrityError) -> bool:
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name == NO_OVERLAP_CONSTRAINT or NO_OVERLAP_CONSTRAINT in str(error)


def _is_retryable(error: OperationalError) -> bool:
    if connection.vendor == "sqlite":
        return "database is locked" in str(error)
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code == DEADLOCK_DETECTED


def _overlap_exists(profile_id: int, blocked: tuple[datetime, datetime]) -> bool:
    return Booking.objects.filter(profile_id=profile_id).blocking(*blocked).exists()


def _insert(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    start: datetime,
    end: datetime,
    blocked: tuple[datetime, datetime],
    request: HttpRequest | None,
) -> Booking:
    """Check and insert in one transaction; raises _Taken on overlap."""
    with transaction.atomic():
        # PostgreSQL: one booking at a time per specialist (see the module docstring).
        list(
            SpecialistProfile.objects.select_for_update()
            .filter(pk=session_type.profile_id)
            .values_list("pk")
        )
        if _overlap_exists(session_type.profile_id, blocked):
            raise _Taken
        price = listing_price(
            Listing.objects.select_related("brand", "profile").get(
                brand=brand, profile_id=session_type.profile_id
            )
        )
        try:
            with transaction.atomic():
                booking = Booking.objects.create(
                    brand=brand,
                    profile_id=session_type.profile_id,
                    patient=patient,
                    session_type=session_type,
                    start=start,
                    end=end,
                    blocked_start=blocked[0],
                    blocked_end=blocked[1],
                    status=BookingStatus.CONFIRMED,
                    patient_time_zone=patient.time_zone or brand.time_zone or "UTC",
                    price_minor=None if price.covered else price.amount_minor,
                    currency=price.currency,
                    created_by=patient,
                )
        except IntegrityError as error:
            if _is_no_overlap_violation(error):
                raise _Taken from error
            raise
        audit.record(
            "booking.created",
            actor=patient,
            role=Role.PATIENT,
            target=booking,
            brand=brand,
            request=request,
            data={
                "profile": booking.profile_id,
                "session_type": session_type.pk,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "status": booking.status,
            },
        )
    return booking


def do_book(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    start: datetime,
    request: HttpRequest | None = None,
) -> Booking:
    """Book ``start`` of ``session_type`` for ``patient`` on ``brand``, confirmed at once.

    Raises ValidationError (nothing written) when the patient, specialist, session type or
    time is not bookable here, and ``SlotTaken`` with alternatives when the time overlaps an
    active booking -- including one a concurrent request has just made.
    """
    _validate(patient=patient, brand=brand, session_type=session_type, start=start)
    start = start.astimezone(UTC)
    if not _offered(session_type, start, timezone.now()):
        raise _not_available()
    end = start + timedelta(minutes=session_type.duration_minutes)
    blocked = (
        start - timedelta(minutes=session_type.buffer_before_minutes),
        end + timedelta(minutes=session_type.buffer_after_minutes),
    )
    owns_transaction = not transaction.get_connection().in_atomic_block
    attempt = 0
    while True:
        attempt += 1
        try:
            return _insert(
                patient=patient,
                brand=brand,
                session_type=session_type,
                start=start,
                end=end,
                blocked=blocked,
                request=request,
            )
        except _Taken:
            break
        except OperationalError as error:
            if not (owns_transaction and _is_retryable(error) and attempt < LOCK_RETRIES):
                raise
            _time.sleep(0.05 * attempt)
    # After the failed transaction: the alternatives see the booking that won.
    raise SlotTaken(next_free_slots(session_type))


def do_cancel(
    booking: Booking,
    *,
    by: Literal["patient", "specialist"],
    actor: Any,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Booking:
    """Cancel an active booking on behalf of the patient or the specialist; the time frees up."""
    if by == "patient":
        status, role, allowed = BookingStatus.CANCELLED_BY_PATIENT, Role.PATIENT, booking.patient_id
    elif by == "specialist":
        status, role = BookingStatus.CANCELLED_BY_SPECIALIST, Role.SPECIALIST
        allowed = booking.profile.user_id
    else:
        raise ValueError(f"by must be 'patient' or 'specialist', not {by!r}")
    if getattr(actor, "pk", None) != allowed:
        raise ValidationError(_("You cannot cancel this booking."), code="not_allowed")
    with transaction.atomic():
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        if current.status not in ACTIVE_STATUSES:
            raise ValidationError(_("This booking can no longer be cancelled."), code="not_active")
        previous = current.status
        current.status = status
        current.cancelled_at = timezone.now()
        current.cancel_reason = reason.strip()
        current.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
        audit.record(
            "booking.cancelled",
            actor=actor,
            role=role,
            target=current,
            brand=current.brand,
            request=request,
            # No reason text here: it may describe health. Ids, times and states only.
            data={
                "by": by,
                "from": previous,
                "to": status,
                "start": current.start.isoformat(),
                "with_reason": bool(current.cancel_reason),
            },
        )
    booking.refresh_from_db()
    return booking
