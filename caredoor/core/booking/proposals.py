"""Proposals: the specialist invites a patient to a time; the patient accepts or declines.

A proposal holds the time (it is an active booking) until it is answered, withdrawn or
expires at ``expires_at``. Accepting confirms it, or -- when the proposal requires payment
-- moves it to "pending payment", which the payment flow confirms (``do_confirm_payment``).
Every answer checks the expiry itself, so a lapsed proposal cannot be accepted even if the
expiry job has not run yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking import lifecycle, notify, policy, writes
from caredoor.core.booking.actions import (
    locked,
    new_booking,
    next_free_slots,
    record,
    require_aware,
    require_consents,
    require_patient,
    side_of,
)
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.expiry import expire_booking
from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus, Origin
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.queries import public_profiles_on

# Time the patient has to pay after accepting a proposal that requires payment.
PAYMENT_WINDOW = timedelta(hours=2)


def require_specialist_of(session_type: SessionType, actor: Any, brand: Brand) -> None:
    if getattr(actor, "pk", None) != session_type.profile.user_id:
        raise ValidationError(_("You cannot schedule for this specialist."), code="not_allowed")
    if not public_profiles_on(brand).filter(profile_id=session_type.profile_id).exists():
        raise ValidationError(_("You are not listed on this service."), code="not_listed")
    if not session_type.is_active or session_type.brand_id not in (None, brand.pk):
        raise ValidationError(
            _("This session type is not offered here."), code="session_type_unavailable"
        )


def default_expiry(brand: Brand, profile_id: int, start: datetime, now: datetime) -> datetime:
    hours = policy.effective(brand, profile_id)["proposal_expiry_hours"]
    return min(now + timedelta(hours=hours), start)


def do_propose(
    *,
    actor: Any,
    brand: Brand,
    patient: Any,
    session_type: SessionType,
    start: datetime,
    expires_at: datetime | None = None,
    requires_payment: bool | None = None,
    availability_request: AvailabilityRequest | None = None,
    request: HttpRequest | None = None,
) -> Booking:
    """The specialist proposes ``start`` to ``patient``; the time is held until the answer.

    The specialist may propose any free time (their calendar, their call), also of session
    types patients cannot book directly. ``expires_at`` defaults to the policy's expiry
    and is never after the session starts. ``requires_payment`` defaults to the policy.
    """
    start = require_aware(start)
    now = timezone.now()
    require_specialist_of(session_type, actor, brand)
    require_patient(patient, brand)
    if start <= now:
        raise ValidationError(_("Choose a time in the future."), code="in_the_past")
    expires_at = (
        require_aware(expires_at)
        if expires_at is not None
        else default_expiry(brand, session_type.profile_id, start, now)
    )
    if not now < expires_at <= start:
        raise ValidationError(
            _("The answer deadline must be in the future and no later than the session."),
            code="bad_expiry",
        )
    if requires_payment is None:
        requires_payment = bool(
            policy.effective(brand, session_type.profile_id)["proposals_require_payment"]
        )

    def write() -> Booking:
        with transaction.atomic():
            writes.lock_specialist(session_type.profile_id)
            booking = new_booking(
                patient=patient,
                brand=brand,
                session_type=session_type,
                start=start,
                status=BookingStatus.PROPOSED,
                origin=Origin.REQUEST if availability_request else Origin.PROPOSAL,
                created_by=actor,
                expires_at=expires_at,
                requires_payment=requires_payment,
                availability_request=availability_request,
            )
            writes.insert([booking])
            record(
                "booking.proposed",
                booking,
                actor=actor,
                side="specialist",
                request=request,
                session_type=session_type.pk,
                expires_at=expires_at.isoformat(),
                requires_payment=requires_payment,
            )
            notify.booking_event(notify.PROPOSED, booking, by="specialist")
            return booking

    try:
        return writes.with_retry(write)
    except writes.Taken:
        raise SlotTaken(next_free_slots(session_type)) from None


def _open_proposal(booking: Booking, actor: Any, side: str) -> Booking:
    """The locked proposal, or ValidationError: wrong person, answered, or lapsed."""
    if side_of(booking, actor) != side:
        raise ValidationError(_("You cannot answer this proposal."), code="not_allowed")
    current = locked(booking)
    if current.status != BookingStatus.PROPOSED:
        raise ValidationError(_("This proposal has already been answered."), code="answered")
    return current


def _expired(current: Booking) -> bool:
    return current.expires_at is not None and timezone.now() >= current.expires_at


def _refuse_lapsed(booking: Booking) -> None:
    """An answer came after the deadline: the proposal expires now (the expiry job may not
    have run yet), and the answer is refused."""
    expire_booking(booking.pk)
    raise ValidationError(_("This proposal has expired."), code="expired")


def do_accept_proposal(
    booking: Booking, *, actor: Any, request: HttpRequest | None = None
) -> Booking:
    """The patient accepts: confirmed, or pending payment when the proposal requires it.
    Refused (``consents_required``) while a document due before booking is unsigned."""
    if side_of(booking, actor) == "patient":
        require_consents(actor, booking.brand, booking.profile)
    expired = False
    with transaction.atomic():
        current = _open_proposal(booking, actor, "patient")
        if _expired(current):
            expired = True
        else:
            now = timezone.now()
            current.responded_at = now
            if current.requires_payment:
                current.expires_at = min(now + PAYMENT_WINDOW, current.start)
                to = BookingStatus.PENDING_PAYMENT
            else:
                current.expires_at = None
                to = BookingStatus.CONFIRMED
            lifecycle.transition(current, to, fields=("responded_at", "expires_at"))
            record(
                "booking.proposal_accepted",
                current,
                actor=actor,
                side="patient",
                request=request,
                to=to,
            )
            notify.booking_event(notify.PROPOSAL_ACCEPTED, current, by="patient")
    if expired:
        _refuse_lapsed(booking)
    booking.refresh_from_db()
    return booking


def do_decline_proposal(
    booking: Booking, *, actor: Any, request: HttpRequest | None = None
) -> Booking:
    expired = False
    with transaction.atomic():
        current = _open_proposal(booking, actor, "patient")
        if _expired(current):
            expired = True
        else:
            current.responded_at = timezone.now()
            lifecycle.transition(current, BookingStatus.DECLINED, fields=("responded_at",))
            record(
                "booking.proposal_declined", current, actor=actor, side="patient", request=request
            )
            notify.booking_event(notify.PROPOSAL_DECLINED, current, by="patient")
    if expired:
        _refuse_lapsed(booking)
    booking.refresh_from_db()
    return booking


def do_withdraw_proposal(
    booking: Booking, *, actor: Any, request: HttpRequest | None = None
) -> Booking:
    """The specialist takes an unanswered proposal back (recorded as cancelled by them)."""
    with transaction.atomic():
        current = _open_proposal(booking, actor, "specialist")
        current.cancelled_at = timezone.now()
        lifecycle.transition(
            current, BookingStatus.CANCELLED_BY_SPECIALIST, fields=("cancelled_at",)
        )
        record(
            "booking.proposal_withdrawn", current, actor=actor, side="specialist", request=request
        )
        notify.booking_event(notify.PROPOSAL_WITHDRAWN, current, by="specialist")
    booking.refresh_from_db()
    return booking
