"""Booking state changes: each atomic, audited and notified (ARCHITECTURE rules 1 and 6).

Direct booking, cancelling, rescheduling, completing and no-shows live here; proposals,
availability requests and recurring series have modules of their own beside it. Every
status change goes through ``lifecycle.transition`` (the allowed moves only), writes one
audit event and schedules the notification of the other side (``notify``; sent after
commit). Inserts go through ``writes.insert`` under the specialist's lock: no double
booking, and a losing concurrent request gets ``SlotTaken`` with fresh alternatives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.policy import Role
from caredoor.core.accounts.queries import memberships_on_brand
from caredoor.core.booking import lifecycle, notify, policy, writes
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.models import Booking, BookingStatus, Origin, SelfBooking
from caredoor.core.booking.queries import busy_intervals
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.consents.queries import outstanding
from caredoor.core.scheduling import availability
from caredoor.core.scheduling.engine import Slot
from caredoor.core.scheduling.models import SessionType
from caredoor.core.scheduling.pricing import session_price
from caredoor.core.specialists.queries import public_profiles_on

ALTERNATIVES = 5
Side = Literal["patient", "specialist"]
# A booking with the specialist in one of these states makes the patient "known": on
# brands where patients book only their first session themselves, the specialist
# schedules the rest.
HISTORY_STATUSES = (
    BookingStatus.CONFIRMED,
    BookingStatus.PENDING_PAYMENT,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
    BookingStatus.RESCHEDULED,
)


# --- validation ---------------------------------------------------------------------------


def not_available() -> ValidationError:
    return ValidationError(_("This time is not available."), code="not_available")


def require_aware(start: datetime) -> datetime:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValidationError(_("The start time must include its time zone."), code="naive")
    return start.astimezone(UTC)


def require_patient(patient: Any, brand: Brand) -> None:
    if not memberships_on_brand(patient, brand).filter(role=Role.PATIENT).exists():
        raise ValidationError(
            _("Only patients of this service can book sessions here."), code="not_patient"
        )


def require_consents(patient: Any, brand: Brand, profile: Any) -> None:
    """The before-booking gate: documents due by ``booking`` must be signed (portals send
    the patient to sign first; this protects the API). Brands without documents pass."""
    if outstanding(patient, brand, "booking", profile=profile):
        raise ValidationError(
            _("Sign the documents this service asks for before booking."),
            code="consents_required",
        )


def require_offered_here(session_type: SessionType, brand: Brand) -> None:
    if not public_profiles_on(brand).filter(profile_id=session_type.profile_id).exists():
        raise ValidationError(
            _("This specialist cannot be booked on this service."), code="not_listed"
        )
    if not session_type.is_active or session_type.brand_id not in (None, brand.pk):
        raise ValidationError(
            _("This session type is not offered here."), code="session_type_unavailable"
        )


def has_history(patient: Any, brand: Brand, profile_id: int) -> bool:
    return Booking.objects.filter(
        patient=patient, brand=brand, profile_id=profile_id, status__in=HISTORY_STATUSES
    ).exists()


def self_booking_refusal(patient: Any, brand: Brand, session_type: SessionType) -> str:
    """Why ``patient`` may not book ``session_type`` directly here ('' if they may)."""
    if not session_type.direct_booking:
        return str(_("This session type can only be booked by the specialist's invitation."))
    mode = policy.effective(brand, session_type.profile_id)["self_booking"]
    if mode == SelfBooking.OFF:
        return str(_("Sessions with this specialist are scheduled by the specialist."))
    if mode == SelfBooking.FIRST_ONLY and has_history(patient, brand, session_type.profile_id):
        return str(_("Your specialist schedules your next sessions: send a request or a message."))
    return ""


def offered(session_type: SessionType, start: datetime, now: datetime) -> bool:
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


def side_of(booking: Booking, actor: Any) -> Side:
    """Which side ``actor`` is on (views look bookings up scoped; this is the backstop)."""
    actor_id = getattr(actor, "pk", None)
    if actor_id is not None and actor_id == booking.patient_id:
        return "patient"
    if actor_id is not None and actor_id == booking.profile.user_id:
        return "specialist"
    raise ValidationError(_("You cannot change this booking."), code="not_allowed")


ROLE_OF = {"patient": Role.PATIENT, "specialist": Role.SPECIALIST}


def record(
    event: str,
    booking: Booking,
    *,
    actor: Any,
    side: str,
    request: HttpRequest | None,
    **data: Any,
) -> None:
    """The audit event of a booking change: ids, times and states only, never free text."""
    audit.record(
        event,
        actor=actor,
        role=ROLE_OF.get(side, ""),
        actor_label="" if actor else "system",
        target=booking,
        brand=booking.brand,
        request=request,
        data={"profile": booking.profile_id, "start": booking.start.isoformat(), **data},
    )


def new_booking(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    start: datetime,
    status: str,
    origin: str,
    created_by: Any,
    policy_snapshot: dict | None = None,
    **fields: Any,
) -> Booking:
    """An unsaved booking with its blocked range, price and policy snapshot."""
    if status not in lifecycle.INITIAL:
        raise ValueError(f"a booking cannot start as {status!r}")
    start, end, blocked = writes.blocked_range(session_type, start)
    price = session_price(session_type, brand)
    return Booking(
        brand=brand,
        profile_id=session_type.profile_id,
        patient=patient,
        session_type=session_type,
        start=start,
        end=end,
        blocked_start=blocked[0],
        blocked_end=blocked[1],
        status=status,
        origin=origin,
        policy=policy_snapshot or policy.snapshot(brand, session_type.profile_id),
        patient_time_zone=patient.time_zone or brand.time_zone or "UTC",
        price_minor=None if price.covered else price.amount_minor,
        currency=price.currency,
        created_by=created_by,
        status_changed_at=timezone.now(),
        **fields,
    )


# --- direct booking -----------------------------------------------------------------------


def do_book(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    start: datetime,
    request: HttpRequest | None = None,
    hold_minutes: int | None = None,
    after_insert: Callable[[Booking], None] | None = None,
) -> Booking:
    """Book ``start`` of ``session_type`` for ``patient`` on ``brand``, confirmed at once --
    or, with ``hold_minutes``, held as "pending payment" until it is paid or the hold ends
    (``do_confirm_payment``; the expiry job releases the time). ``after_insert`` runs in
    the booking's transaction (the payments layer records what is owed there).

    Raises ValidationError (nothing written) when the patient, specialist, session type or
    time is not bookable here, or the brand's or specialist's policy leaves scheduling to
    the specialist; ``SlotTaken`` with alternatives when the time overlaps an active
    booking -- including one a concurrent request has just made.
    """
    start = require_aware(start)
    require_patient(patient, brand)
    require_offered_here(session_type, brand)
    refusal = self_booking_refusal(patient, brand, session_type)
    if refusal:
        raise ValidationError(refusal, code="invitation_only")
    require_consents(patient, brand, session_type.profile)
    if not offered(session_type, start, timezone.now()):
        raise not_available()

    def write() -> Booking:
        with transaction.atomic():
            writes.lock_specialist(session_type.profile_id)
            held = hold_minutes is not None
            booking = new_booking(
                patient=patient,
                brand=brand,
                session_type=session_type,
                start=start,
                status=BookingStatus.PENDING_PAYMENT if held else BookingStatus.CONFIRMED,
                origin=Origin.PATIENT,
                created_by=patient,
                requires_payment=held,
                expires_at=(
                    min(timezone.now() + timedelta(minutes=hold_minutes), start)
                    if hold_minutes is not None
                    else None
                ),
            )
            writes.insert([booking])
            if after_insert is not None:
                after_insert(booking)
            record(
                "booking.created",
                booking,
                actor=patient,
                side="patient",
                request=request,
                session_type=session_type.pk,
                end=booking.end.isoformat(),
                status=booking.status,
            )
            if not held:  # a held time is news once it is paid (notify.PAID)
                notify.booking_event(notify.BOOKED, booking, by="patient")
            return booking

    try:
        return writes.with_retry(write)
    except writes.Taken:
        # After the failed transaction: the alternatives see the booking that won.
        raise SlotTaken(next_free_slots(session_type)) from None


# --- cancelling ---------------------------------------------------------------------------


def locked(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("profile", "brand").get(pk=booking.pk)


def do_cancel(
    booking: Booking,
    *,
    by: Side,
    actor: Any,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Booking:
    """Cancel an active booking on behalf of the patient or the specialist; the time frees.

    A patient cancelling after the free window of the booking's own policy snapshot
    cancels late: the booking keeps the fee share the snapshot names (charged by payments).
    A specialist's cancellation is always free for the patient. A proposal is not
    cancelled here: the patient declines it, the specialist withdraws it.
    """
    if by not in ("patient", "specialist"):
        raise ValueError(f"by must be 'patient' or 'specialist', not {by!r}")
    if side_of(booking, actor) != by:
        raise ValidationError(_("You cannot cancel this booking."), code="not_allowed")
    now = timezone.now()
    with transaction.atomic():
        current = locked(booking)
        if current.status == BookingStatus.PROPOSED:
            raise ValidationError(
                _("A proposal is declined or withdrawn, not cancelled."), code="invalid_transition"
            )
        fee = None
        if by == "patient" and current.status == BookingStatus.CONFIRMED:
            terms = policy.cancellation_terms(current, now)
            fee = None if terms.free else terms.fee_percent
        to = (
            BookingStatus.CANCELLED_BY_PATIENT
            if by == "patient"
            else BookingStatus.CANCELLED_BY_SPECIALIST
        )
        if current.status not in (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT):
            raise ValidationError(_("This booking can no longer be cancelled."), code="not_active")
        current.cancelled_at = now
        current.cancel_reason = reason.strip()
        current.fee_percent = fee
        previous = lifecycle.transition(
            current, to, fields=("cancelled_at", "cancel_reason", "fee_percent")
        )
        # No reason text in the audit trail: it may describe health.
        record(
            "booking.cancelled",
            current,
            actor=actor,
            side=by,
            request=request,
            by=by,
            to=to,
            late=fee is not None,
            fee_percent=fee,
            with_reason=bool(current.cancel_reason),
            **{"from": previous},
        )
        notify.booking_event(notify.CANCELLED, current, by=by)
    booking.refresh_from_db()
    return booking


# --- rescheduling -------------------------------------------------------------------------


def do_reschedule(
    booking: Booking,
    *,
    actor: Any,
    start: datetime,
    request: HttpRequest | None = None,
) -> Booking:
    """Move a confirmed booking to ``start``: it becomes "rescheduled" and a new confirmed
    booking takes its place (same session type, price and policy; ``rescheduled_from``).

    A patient may move it until the reschedule window of the booking's policy closes and
    only to a time the specialist's hours offer; the specialist may move it to any free
    time (their calendar, their call). Returns the new booking.
    """
    side = side_of(booking, actor)
    start = require_aware(start)
    now = timezone.now()
    session_type = booking.session_type
    if start == booking.start:
        raise ValidationError(_("Choose a different time."), code="same_time")
    if now >= booking.start:
        raise ValidationError(
            _("This session has already started and cannot be moved."), code="started"
        )
    if side == "patient":
        if not policy.may_reschedule(booking, now):
            raise ValidationError(
                _("This session can no longer be moved; you can still cancel it."),
                code="reschedule_closed",
            )
        if not offered(session_type, start, now):
            raise not_available()
    elif start <= now:
        raise ValidationError(_("Choose a time in the future."), code="in_the_past")

    def write() -> Booking:
        with transaction.atomic():
            writes.lock_specialist(booking.profile_id)
            current = locked(booking)
            if current.status != BookingStatus.CONFIRMED:
                raise ValidationError(
                    _("Only confirmed sessions can be moved."), code="invalid_transition"
                )
            lifecycle.transition(current, BookingStatus.RESCHEDULED)
            moved = new_booking(
                patient=current.patient,
                brand=current.brand,
                session_type=session_type,
                start=start,
                status=BookingStatus.CONFIRMED,
                origin=current.origin,
                created_by=actor,
                policy_snapshot=current.policy,
                rescheduled_from=current,
                series=current.series,
                availability_request=current.availability_request,
            )
            # The price agreed at booking time stays.
            moved.price_minor, moved.currency = current.price_minor, current.currency
            writes.insert([moved])
            record(
                "booking.rescheduled",
                moved,
                actor=actor,
                side=side,
                request=request,
                previous=current.pk,
                previous_start=current.start.isoformat(),
            )
            notify.booking_event(notify.RESCHEDULED, moved, by=side)
            return moved

    try:
        return writes.with_retry(write)
    except writes.Taken:
        raise SlotTaken(next_free_slots(session_type)) from None


# --- after the session --------------------------------------------------------------------


def _after_start(booking: Booking, actor: Any, to: str, event: str, request: Any) -> Booking:
    if side_of(booking, actor) != "specialist":
        raise ValidationError(_("Only the specialist can record this."), code="not_allowed")
    if timezone.now() < booking.start:
        raise ValidationError(
            _("This can be recorded once the session has started."), code="too_early"
        )
    with transaction.atomic():
        current = locked(booking)
        fields: tuple[str, ...] = ()
        if to == BookingStatus.NO_SHOW:
            current.fee_percent = current.policy.get(
                "no_show_fee_percent", policy.DEFAULTS["no_show_fee_percent"]
            )
            fields = ("fee_percent",)
        previous = lifecycle.transition(current, to, fields=fields)
        record(
            event, current, actor=actor, side="specialist", request=request, **{"from": previous}
        )
        notify.booking_event(
            notify.COMPLETED if to == BookingStatus.COMPLETED else notify.NO_SHOW,
            current,
            by="specialist",
        )
    booking.refresh_from_db()
    return booking


def do_complete(booking: Booking, *, actor: Any, request: HttpRequest | None = None) -> Booking:
    return _after_start(booking, actor, BookingStatus.COMPLETED, "booking.completed", request)


def do_mark_no_show(booking: Booking, *, actor: Any, request: HttpRequest | None = None) -> Booking:
    return _after_start(booking, actor, BookingStatus.NO_SHOW, "booking.no_show", request)


def do_complete_attended(booking: Booking, *, by: str = "attendance") -> Booking:
    """The system records a session as completed because both sides attended it (``by``:
    what says so; video attendance, ``video/settle.py``). No actor: the audit event's side
    is "system", and both sides are notified. Idempotent: a booking that is no longer
    confirmed (completed already, a no-show, cancelled) is left as it is."""
    with transaction.atomic():
        current = locked(booking)
        if current.status != BookingStatus.CONFIRMED or timezone.now() < current.start:
            booking.refresh_from_db()
            return booking
        previous = lifecycle.transition(current, BookingStatus.COMPLETED)
        record(
            "booking.completed",
            current,
            actor=None,
            side="system",
            request=None,
            by=by,
            **{"from": previous},
        )
        notify.booking_event(notify.COMPLETED, current, by="system")
    booking.refresh_from_db()
    return booking


# --- payment ------------------------------------------------------------------------------


def do_confirm_payment(
    booking: Booking, *, reference: str = "", request: HttpRequest | None = None
) -> Booking:
    """A booking awaiting payment is paid: it is confirmed. Called by the payment flow
    (issue 8) when the payment provider reports success; before its expiry only."""
    with transaction.atomic():
        current = locked(booking)
        if current.expires_at is not None and timezone.now() >= current.expires_at:
            raise ValidationError(_("This booking has expired."), code="expired")
        if current.status != BookingStatus.PENDING_PAYMENT:
            raise ValidationError(
                _("This booking is not waiting for a payment."), code="invalid_transition"
            )
        current.expires_at = None
        lifecycle.transition(current, BookingStatus.CONFIRMED, fields=("expires_at",))
        record(
            "booking.paid",
            current,
            actor=None,
            side="system",
            request=request,
            with_reference=bool(reference),
        )
        notify.booking_event(notify.PAID, current, by="system")
    booking.refresh_from_db()
    return booking
