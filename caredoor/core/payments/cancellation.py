"""Cancelling or recording a no-show with the money that follows: the booking action, then
the policy's refund (``refunds.refund_for_booking``) once the booking's change has
committed. If Stripe cannot be reached the booking is still cancelled and the sweeper
makes the refund within a minute (it derives what is due from the bookings).
A session paid from a package is given back to it when the rule says so
(``packages.gives_back``: by the specialist, or by the patient inside the free window)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest

from caredoor.core.booking import actions as booking_actions
from caredoor.core.booking import policy
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments import packages, refunds
from caredoor.core.payments.models import PaymentStatus, Refund
from caredoor.core.payments.pricing import percent_of


def do_cancel(
    booking: Booking,
    *,
    by: booking_actions.Side,
    actor: Any,
    reason: str = "",
    request: HttpRequest | None = None,
) -> tuple[Booking, Refund | None]:
    done = booking_actions.do_cancel(booking, by=by, actor=actor, reason=reason, request=request)
    packages.return_for_booking(done)
    return done, refunds.refund_for_booking(done)


def do_mark_no_show(
    booking: Booking, *, actor: Any, request: HttpRequest | None = None
) -> tuple[Booking, Refund | None]:
    done = booking_actions.do_mark_no_show(booking, actor=actor, request=request)
    return done, refunds.refund_for_booking(done)


def refund_if_patient_cancels(booking: Booking, now: datetime) -> tuple[int, int, str] | None:
    """(refund, paid, currency) if the patient cancelled ``booking`` at ``now``; None when
    nothing was paid."""
    payment = booking.payments.filter(status=PaymentStatus.SUCCEEDED).first()
    if payment is None or payment.amount_minor == 0:
        return None
    if booking.status == BookingStatus.PENDING_PAYMENT:
        return None
    terms = policy.cancellation_terms(booking, now)
    kept = 0 if terms.free else percent_of(payment.amount_minor, terms.fee_percent)
    refund = min(payment.amount_minor - kept, payment.refundable_minor)
    return refund, payment.amount_minor, payment.currency
