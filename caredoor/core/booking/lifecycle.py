"""The booking lifecycle as an explicit state machine: the allowed transitions and nothing else.

Every change of a booking's status goes through ``transition`` inside an action, which
checks the move against ``TRANSITIONS``, stamps the time, writes the audit event and
schedules the notification to the other side (``notify``). Availability requests have
their own small machine (``REQUEST_TRANSITIONS``): a request holds no time, so it is
not a booking until the specialist answers with one.

    proposed ──accept──> confirmed | pending_payment      (patient; payment if the proposal says so)
    proposed ──> declined (patient) | expired (job) | cancelled_by_specialist (withdrawn)
    pending_payment ──paid──> confirmed
    pending_payment ──> expired (job) | cancelled_by_patient | cancelled_by_specialist
    confirmed ──> rescheduled (a new booking takes its place) | cancelled_by_patient
                 | cancelled_by_specialist | completed | no_show
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingStatus,
    RequestStatus,
)

S = BookingStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset(
        {S.CONFIRMED, S.PENDING_PAYMENT, S.DECLINED, S.EXPIRED, S.CANCELLED_BY_SPECIALIST}
    ),
    S.PENDING_PAYMENT: frozenset(
        {S.CONFIRMED, S.EXPIRED, S.CANCELLED_BY_PATIENT, S.CANCELLED_BY_SPECIALIST}
    ),
    S.CONFIRMED: frozenset(
        {
            S.RESCHEDULED,
            S.CANCELLED_BY_PATIENT,
            S.CANCELLED_BY_SPECIALIST,
            S.COMPLETED,
            S.NO_SHOW,
        }
    ),
    # Final states.
    S.RESCHEDULED: frozenset(),
    S.CANCELLED_BY_PATIENT: frozenset(),
    S.CANCELLED_BY_SPECIALIST: frozenset(),
    S.COMPLETED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.EXPIRED: frozenset(),
    S.DECLINED: frozenset(),
    # "requested" is the state of an AvailabilityRequest, never of a booking row.
    S.REQUESTED: frozenset(),
}
# The states a new booking may start in.
INITIAL: frozenset[str] = frozenset({S.CONFIRMED, S.PROPOSED, S.PENDING_PAYMENT})

R = RequestStatus
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    R.REQUESTED: frozenset({R.ACCEPTED, R.DECLINED, R.EXPIRED, R.WITHDRAWN}),
    R.ACCEPTED: frozenset(),
    R.DECLINED: frozenset(),
    R.EXPIRED: frozenset(),
    R.WITHDRAWN: frozenset(),
}


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def _refuse(current: Any) -> ValidationError:
    return ValidationError(
        _("This booking cannot be changed that way (status: %(state)s).")
        % {"state": BookingStatus(current).label},
        code="invalid_transition",
    )


def transition(booking: Booking, to: str, *, fields: tuple[str, ...] = ()) -> str:
    """Move a locked booking row to ``to``; returns the previous status. Raises
    ValidationError (nothing saved) when the lifecycle does not allow the move."""
    current = booking.status
    if not can_move(current, to):
        raise _refuse(current)
    booking.status = to
    booking.status_changed_at = timezone.now()
    booking.save(update_fields=["status", "status_changed_at", "updated_at", *fields])
    return current


def transition_request(request: AvailabilityRequest, to: str) -> str:
    current = request.status
    if to not in REQUEST_TRANSITIONS.get(current, frozenset()):
        raise ValidationError(
            _("This request cannot be changed that way (status: %(state)s).")
            % {"state": RequestStatus(current).label},
            code="invalid_transition",
        )
    request.status = to
    request.responded_at = timezone.now()
    request.save(update_fields=["status", "responded_at"])
    return current
