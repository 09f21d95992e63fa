"""Refunds: under the booking's cancellation policy, or by staff with a reason.

The policy's answer is derived from the booking's state and its policy snapshot, so the
sweeper can ask again after any failure: a patient's cancellation inside the free window
or any cancellation by the specialist refunds in full; a late cancellation or a no-show
keeps the fee share the policy names (``Booking.fee_percent``) and refunds the rest; a
payment that arrived after its hold ended is refunded in full. Each payment gets at most
one policy refund (a database constraint), staff refunds come on top up to what is left.

A refund reserves its amount on the payment before Stripe is called (so two refunds can
never exceed the payment), then posts its ledger reversal when Stripe reports it
succeeded; a refund Stripe fails gives its amount back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.compliance import audit
from caredoor.core.payments import emails, packages, posting, stripe_api
from caredoor.core.payments.models import (
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from caredoor.core.payments.pricing import percent_of

log = logging.getLogger("caredoor.payments")

RELEASED = (BookingStatus.EXPIRED,)
CANCELLED = (BookingStatus.CANCELLED_BY_PATIENT, BookingStatus.CANCELLED_BY_SPECIALIST)


def policy_refund(payment: Payment, booking: Booking) -> tuple[int, str]:
    """(amount, reason) the policy gives back for ``booking``'s state; (0, "") if none."""
    if not payment.is_paid or payment.amount_minor == 0:
        return 0, ""
    if booking.status in RELEASED:
        return payment.amount_minor, RefundReason.HOLD_EXPIRED
    if booking.status == BookingStatus.CANCELLED_BY_SPECIALIST:
        return payment.amount_minor, RefundReason.CANCELLATION
    if booking.status in (BookingStatus.CANCELLED_BY_PATIENT, BookingStatus.NO_SHOW):
        kept = percent_of(payment.amount_minor, booking.fee_percent or 0)
        if booking.status == BookingStatus.NO_SHOW and booking.fee_percent is None:
            return 0, ""
        return payment.amount_minor - kept, RefundReason.CANCELLATION
    return 0, ""


def do_refund(
    payment: Payment,
    amount_minor: int,
    *,
    reason: str,
    actor: Any = None,
    note: str = "",
    request: Any = None,
) -> Refund:
    """Refund ``amount_minor`` of ``payment`` (at most what is left) and tell Stripe.

    Raises ValidationError for an amount that is not positive or exceeds what is left, a
    payment that is not paid, a staff refund without a reason, or a second policy refund;
    nothing is written then.
    """
    if reason == RefundReason.STAFF and not note.strip():
        raise ValidationError({"note": _("Say why you are refunding.")})
    if amount_minor <= 0:
        raise ValidationError({"amount": _("Enter an amount above zero.")})
    try:
        with transaction.atomic():
            current = Payment.objects.select_for_update().get(pk=payment.pk)
            if not current.is_paid:
                raise ValidationError(_("Only a paid payment can be refunded."), code="not_paid")
            if amount_minor > current.refundable_minor:
                raise ValidationError(
                    {"amount": _("That is more than is left to refund.")}, code="too_much"
                )
            packages.check_refund(current, amount_minor)  # a package: unused sessions only
            refund = Refund.objects.create(
                payment=current,
                amount_minor=amount_minor,
                reason=reason,
                note=note.strip()[:300],
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            Payment.objects.filter(pk=current.pk).update(
                refunded_minor=F("refunded_minor") + amount_minor
            )
            audit.record(
                "payment.refund",
                actor=actor,
                actor_label="" if actor else "system",
                target=current,
                brand=current.brand,
                request=request,
                data={"refund": refund.pk, "amount": amount_minor, "reason": reason},
            )
    except IntegrityError:
        raise ValidationError(
            _("This payment has already been refunded under the policy."), code="refunded"
        ) from None
    return send(refund)


def send(refund: Refund) -> Refund:
    """Ask Stripe for ``refund`` (again, with the same idempotency key, if it is pending)."""
    refund = Refund.objects.select_related("payment", "payment__brand").get(pk=refund.pk)
    try:
        answer = stripe_api.create_refund(refund)
    except stripe_api.ConnectUnavailable:
        return refund
    except stripe_api.StripeError as error:
        log.warning("refund %s: Stripe refused: %s", refund.pk, type(error).__name__)
        return refund  # stays pending; the sweeper asks again
    return apply_refund(refund, answer)


def apply_refund(refund: Refund, answer: Any) -> Refund:
    status = answer["status"]
    with transaction.atomic():
        current = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        if current.status != RefundStatus.PENDING:
            return current
        current.refund_id = answer["id"]
        if status == "succeeded":
            current.status = RefundStatus.SUCCEEDED
            current.succeeded_at = timezone.now()
            current.save(update_fields=["status", "succeeded_at", "refund_id"])
            posting.post_refund(current)
            emails.refund_succeeded(current)  # the patient's email, once, after commit
        elif status in ("failed", "canceled"):
            current.status = RefundStatus.FAILED
            current.save(update_fields=["status", "refund_id"])
            Payment.objects.filter(pk=current.payment_id).update(
                refunded_minor=F("refunded_minor") - current.amount_minor
            )
        else:
            current.save(update_fields=["refund_id"])
    return current


def refund_for_booking(booking: Booking) -> Refund | None:
    """The policy refund of ``booking``'s payment, if the policy gives one and it has not
    been made. Safe to call any number of times."""
    booking.refresh_from_db()
    for payment in booking.payments.filter(status=PaymentStatus.SUCCEEDED):
        amount, reason = policy_refund(payment, booking)
        if amount <= 0:
            continue
        if payment.refunds.filter(
            reason__in=[RefundReason.CANCELLATION, RefundReason.HOLD_EXPIRED]
        ).exists():
            continue
        amount = min(amount, payment.refundable_minor)
        if amount <= 0:
            continue
        try:
            return do_refund(payment, amount, reason=reason)
        except ValidationError:
            continue
    return None


def refund_released(payment_pk: int) -> Refund | None:
    payment = Payment.objects.select_related("booking").filter(pk=payment_pk).first()
    if payment is None or payment.booking is None:
        return None
    return refund_for_booking(payment.booking)


def refunds_due(limit: int = 100) -> int:
    """The sweeper: policy refunds not yet made, and refunds Stripe has not answered."""
    made = 0
    due = (
        Booking.objects.filter(
            status__in=[*CANCELLED, *RELEASED, BookingStatus.NO_SHOW],
            payments__status=PaymentStatus.SUCCEEDED,
            payments__amount_minor__gt=0,
        )
        # The policy keeps all of it: nothing is due.
        .exclude(status=BookingStatus.CANCELLED_BY_PATIENT, fee_percent__gte=100)
        .exclude(Q(status=BookingStatus.NO_SHOW) & (Q(fee_percent=None) | Q(fee_percent__gte=100)))
        .exclude(
            payments__refunds__reason__in=[RefundReason.CANCELLATION, RefundReason.HOLD_EXPIRED]
        )
        .distinct()[:limit]
    )
    for booking in due:
        if refund_for_booking(booking) is not None:
            made += 1
    for refund in Refund.objects.filter(status=RefundStatus.PENDING)[:limit]:
        send(refund)
    return made
