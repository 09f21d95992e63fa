"""Availability requests: a patient asks for a time, the specialist answers within a window.

The request names up to ``MAX_WINDOWS`` periods that suit the patient. The specialist
accepts by choosing a time: inside one of the patient's periods it is booked at once
(confirmed, or pending payment where proposals require it) -- the patient already said
that time suits them; any other time goes back to the patient as a proposal. Or the
specialist declines. Unanswered by ``respond_by`` (the policy's response window), the
request expires (``expiry.expire_overdue``).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking import lifecycle, notify, policy, writes
from caredoor.core.booking.actions import (
    new_booking,
    next_free_slots,
    record,
    require_aware,
    require_offered_here,
    require_patient,
)
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingStatus,
    Origin,
    RequestStatus,
)
from caredoor.core.booking.proposals import PAYMENT_WINDOW, do_propose
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.scheduling.models import SessionType

MAX_WINDOWS = 5
MAX_OPEN_PER_SPECIALIST = 1


def _windows(
    session_type: SessionType, preferred: list[tuple[datetime, datetime]], now: datetime
) -> list[tuple[datetime, datetime]]:
    if not preferred:
        raise ValidationError(_("Give at least one period that suits you."), code="no_windows")
    if len(preferred) > MAX_WINDOWS:
        raise ValidationError(
            _("Give at most %(n)s periods.") % {"n": MAX_WINDOWS}, code="too_many"
        )
    duration = timedelta(minutes=session_type.duration_minutes)
    notice = timedelta(minutes=session_type.min_notice_minutes)
    horizon = now + timedelta(days=session_type.horizon_days)
    result = []
    for start, end in preferred:
        start, end = require_aware(start), require_aware(end)
        if start < now:
            raise ValidationError(_("The periods must be in the future."), code="in_the_past")
        if end - start < duration:
            raise ValidationError(
                _("Each period must be at least as long as the session (%(n)s minutes).")
                % {"n": session_type.duration_minutes},
                code="too_short",
            )
        if end - max(start, now + notice) < duration:
            raise ValidationError(
                _("This specialist needs more notice: choose later periods."),
                code="too_soon",
            )
        if start > horizon:
            raise ValidationError(
                _("This specialist takes bookings up to %(n)s days ahead.")
                % {"n": session_type.horizon_days},
                code="beyond_horizon",
            )
        result.append((start, end))
    result.sort()
    for (_a, b), (c, _d) in itertools.pairwise(result):
        if c < b:
            raise ValidationError(_("The periods overlap."), code="overlap")
    return result


def do_request_availability(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    preferred: list[tuple[datetime, datetime]],
    request: HttpRequest | None = None,
) -> AvailabilityRequest:
    now = timezone.now()
    require_patient(patient, brand)
    require_offered_here(session_type, brand)
    windows = _windows(session_type, preferred, now)
    hours = policy.effective(brand, session_type.profile_id)["request_response_hours"]
    with transaction.atomic():
        writes.lock_specialist(session_type.profile_id)
        open_requests = AvailabilityRequest.objects.filter(
            patient=patient,
            profile_id=session_type.profile_id,
            status=RequestStatus.REQUESTED,
            respond_by__gt=now,
        ).count()
        if open_requests >= MAX_OPEN_PER_SPECIALIST:
            raise ValidationError(
                _("You already have an open request with this specialist."), code="already_open"
            )
        created = AvailabilityRequest.objects.create(
            brand=brand,
            profile_id=session_type.profile_id,
            patient=patient,
            session_type=session_type,
            preferred=[[a.isoformat(), b.isoformat()] for a, b in windows],
            patient_time_zone=patient.time_zone or brand.time_zone or "UTC",
            respond_by=now + timedelta(hours=hours),
        )
        audit.record(
            "availability_request.created",
            actor=patient,
            role="patient",
            target=created,
            brand=brand,
            request=request,
            data={"profile": created.profile_id, "windows": len(windows)},
        )
        notify.request_event(notify.REQUEST_RECEIVED, created, by="patient")
    return created


def preferred_windows(req: AvailabilityRequest) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in req.preferred]


def _open_request(req: AvailabilityRequest, actor: Any, side: str) -> AvailabilityRequest:
    allowed = req.patient_id if side == "patient" else req.profile.user_id
    if getattr(actor, "pk", None) != allowed:
        raise ValidationError(_("You cannot answer this request."), code="not_allowed")
    current = (
        AvailabilityRequest.objects.select_for_update()
        .select_related("brand", "profile", "session_type")
        .get(pk=req.pk)
    )
    if current.status != RequestStatus.REQUESTED:
        raise ValidationError(_("This request has already been answered."), code="answered")
    if timezone.now() >= current.respond_by:
        raise ValidationError(_("This request has expired."), code="expired")
    return current


def do_accept_request(
    req: AvailabilityRequest,
    *,
    actor: Any,
    start: datetime,
    request: HttpRequest | None = None,
) -> Booking:
    """Answer with a time: booked at once inside the patient's periods, else proposed."""
    start = require_aware(start)
    session_type = req.session_type
    end = start + timedelta(minutes=session_type.duration_minutes)
    inside = any(a <= start and end <= b for a, b in preferred_windows(req))
    if not inside:
        with transaction.atomic():
            # Same lock order as every booking write: the specialist first, then the row.
            writes.lock_specialist(session_type.profile_id)
            current = _open_request(req, actor, "specialist")
            booking = do_propose(
                actor=actor,
                brand=current.brand,
                patient=current.patient,
                session_type=session_type,
                start=start,
                availability_request=current,
                request=request,
            )
            lifecycle.transition_request(current, RequestStatus.ACCEPTED)
            audit.record(
                "availability_request.accepted",
                actor=actor,
                role="specialist",
                target=current,
                brand=current.brand,
                request=request,
                data={"booking": booking.pk, "proposed": True},
            )
        return booking
    if start <= timezone.now():
        raise ValidationError(_("Choose a time in the future."), code="in_the_past")

    def write() -> Booking:
        with transaction.atomic():
            writes.lock_specialist(session_type.profile_id)
            current = _open_request(req, actor, "specialist")
            requires_payment = bool(
                policy.effective(current.brand, session_type.profile_id)[
                    "proposals_require_payment"
                ]
            )
            now = timezone.now()
            booking = new_booking(
                patient=current.patient,
                brand=current.brand,
                session_type=session_type,
                start=start,
                status=(
                    BookingStatus.PENDING_PAYMENT if requires_payment else BookingStatus.CONFIRMED
                ),
                origin=Origin.REQUEST,
                created_by=actor,
                availability_request=current,
                requires_payment=requires_payment,
                expires_at=min(now + PAYMENT_WINDOW, start) if requires_payment else None,
            )
            writes.insert([booking])
            lifecycle.transition_request(current, RequestStatus.ACCEPTED)
            record(
                "booking.created",
                booking,
                actor=actor,
                side="specialist",
                request=request,
                session_type=session_type.pk,
                status=booking.status,
                availability_request=current.pk,
            )
            notify.booking_event(notify.SCHEDULED, booking, by="specialist")
            return booking

    try:
        return writes.with_retry(write)
    except writes.Taken:
        raise SlotTaken(next_free_slots(session_type)) from None


def _close(
    req: AvailabilityRequest,
    *,
    actor: Any,
    side: str,
    to: str,
    event: str,
    request: HttpRequest | None,
) -> AvailabilityRequest:
    """Decline (specialist) or withdraw (patient) an open request: no booking comes of it."""
    with transaction.atomic():
        current = _open_request(req, actor, side)
        lifecycle.transition_request(current, to)
        audit.record(
            f"availability_request.{to}",
            actor=actor,
            role=side,
            target=current,
            brand=current.brand,
            request=request,
            data={"profile": current.profile_id},
        )
        notify.request_event(event, current, by=side)  # type: ignore[arg-type]
    req.refresh_from_db()
    return req


def do_decline_request(
    req: AvailabilityRequest, *, actor: Any, request: HttpRequest | None = None
) -> AvailabilityRequest:
    return _close(
        req,
        actor=actor,
        side="specialist",
        to=RequestStatus.DECLINED,
        event=notify.REQUEST_DECLINED,
        request=request,
    )


def do_withdraw_request(
    req: AvailabilityRequest, *, actor: Any, request: HttpRequest | None = None
) -> AvailabilityRequest:
    return _close(
        req,
        actor=actor,
        side="patient",
        to=RequestStatus.WITHDRAWN,
        event=notify.REQUEST_WITHDRAWN,
        request=request,
    )
