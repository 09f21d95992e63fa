"""Checkout: a priced booking holds its time while the patient pays, and is confirmed
only by Stripe's word (ARCHITECTURE rule 1; docs/payments.md).

1. ``do_book`` quotes the session and books it. A price to pay books it as "pending
   payment" for the brand's hold (``Brand.checkout_hold_minutes``) with a ``Payment`` row;
   a session a voucher made free is confirmed at once (its payment is settled at zero,
   and the specialist is still owed their share); a free or covered one is just booked.
2. The pay page sends the card to Stripe (Stripe.js) and the resulting payment method id
   here: ``do_attempt`` creates and confirms a PaymentIntent, one per attempt.
3. ``apply_intent`` reads what Stripe says of an intent -- the answer to our own API call,
   a webhook's event re-read from Stripe, or the sweeper's re-read -- and only a succeeded
   intent confirms the booking. The browser's word never does.

A payment that succeeds after its hold ended (the time was released) is refunded in full.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking import actions as booking_actions
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.payments import emails, packages, posting, pricing, refunds, stripe_api
from caredoor.core.payments.models import Billing, ConnectAccount, Payment, PaymentStatus
from caredoor.core.payments.pricing import Quote
from caredoor.core.scheduling.models import SessionType

log = logging.getLogger("caredoor.payments")

OPEN = (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED)
IN_FLIGHT = (PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION)


def unavailable() -> ValidationError:
    return ValidationError(
        _("Card payments are not available on this service right now."), code="payments_off"
    )


def destination_for(quote: Quote, profile_id: int) -> str:
    """The specialist's connected account, for specialist billing."""
    if quote.billing != Billing.CONNECT:
        return ""
    account = ConnectAccount.objects.filter(profile_id=profile_id, charges_enabled=True).first()
    if account is None:
        raise ValidationError(
            _("This specialist cannot take payments yet. Please try again later."),
            code="no_connect_account",
        )
    return account.account_id


def payment_from_quote(quote: Quote, booking: Booking, destination: str) -> Payment:
    assert quote.list_minor is not None
    return Payment(
        brand=booking.brand,
        booking=booking,
        patient=booking.patient,
        profile_id=booking.profile_id,
        currency=quote.currency,
        list_minor=quote.list_minor,
        discount_minor=quote.discount_minor,
        amount_minor=quote.total_minor,
        fee_minor=quote.fee_minor,
        share_minor=quote.share_minor,
        commission_percent=quote.commission_percent,
        billing=quote.billing,
        destination=destination,
        voucher=quote.voucher,
        lines=[{"label": line.label, "amount_minor": line.amount_minor} for line in quote.lines],
    )


def settle(payment: Payment, at: datetime) -> None:
    """Mark ``payment`` paid and post it to the ledger (inside the caller's transaction)."""
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = at
    payment.failure_message = ""
    payment.receipt_number = f"{payment.brand_id}-{at:%Y}-{payment.pk:06d}"
    payment.save(
        update_fields=[
            "status",
            "succeeded_at",
            "failure_message",
            "receipt_number",
            "intent_id",
            "updated_at",
        ]
    )
    if not packages.settle(payment, at):  # a package: prepaid, and the package is active
        posting.post_payment(payment)
    emails.payment_succeeded(payment)  # the patient's email, once, after commit


def do_book(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    start: datetime,
    voucher_code: str = "",
    request: HttpRequest | None = None,
) -> tuple[Booking, Payment | None]:
    """Book a session at its quoted price (see the module's docstring). Raises
    ValidationError for a voucher that does not apply or payments that cannot be taken,
    and whatever ``booking.actions.do_book`` raises; nothing is written then."""
    quote = pricing.quote(
        patient=patient, brand=brand, session_type=session_type, voucher_code=voucher_code
    )
    if quote.requires_payment and not stripe_api.config()["secret_key"]:
        raise unavailable()
    destination = destination_for(quote, session_type.profile_id) if quote.records_payment else ""
    made: list[Payment] = []

    def record_payment(booking: Booking) -> None:
        if quote.package is not None:  # paid from the patient's package: confirmed now
            packages.use(quote.package, booking, request=request)
            return
        if not quote.records_payment:
            return
        payment = payment_from_quote(quote, booking, destination)
        payment.full_clean()
        payment.save()
        if not quote.requires_payment:  # a voucher made it free: settled at zero
            settle(payment, timezone.now())
        audit.record(
            "payment.created",
            actor=patient,
            role="patient",
            target=payment,
            brand=brand,
            request=request,
            data={"booking": booking.pk, "amount": payment.amount_minor, "status": payment.status},
        )
        made.append(payment)

    booking = booking_actions.do_book(
        patient=patient,
        brand=brand,
        session_type=session_type,
        start=start,
        request=request,
        hold_minutes=brand.checkout_hold_minutes if quote.requires_payment else None,
        after_insert=record_payment,
    )
    return booking, (made[0] if made else None)


def open_payment(booking: Booking) -> Payment | None:
    """The payment a booking awaiting payment is paid with (made on first use for a
    proposal that asked for payment, and audited then). Raises ValidationError when the
    specialist cannot take payments yet (specialist billing without a connected account)."""
    payment = booking.payments.exclude(status=PaymentStatus.CANCELED).order_by("-pk").first()
    if payment is not None or booking.status != BookingStatus.PENDING_PAYMENT:
        return payment
    quote = pricing.quote(
        patient=booking.patient,
        brand=booking.brand,
        session_type=booking.session_type,
        exclude_booking=booking.pk,
    )
    if not quote.records_payment:
        return None
    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=booking.pk)
        existing = booking.payments.exclude(status=PaymentStatus.CANCELED).first()
        if existing is not None:
            return existing
        payment = payment_from_quote(quote, booking, destination_for(quote, booking.profile_id))
        payment.full_clean()
        payment.save()
        audit.record(
            "payment.created",
            actor=None,
            actor_label="system",
            target=payment,
            brand=booking.brand,
            data={"booking": booking.pk, "amount": payment.amount_minor, "status": payment.status},
        )
    return payment


def do_apply_voucher(payment: Payment, code: str, *, actor: Any, request: Any = None) -> Payment:
    """Re-quote an unpaid payment with a voucher code (or none, to remove it)."""
    booking = payment.booking
    assert booking is not None
    quote = pricing.quote(
        patient=payment.patient,
        brand=payment.brand,
        session_type=booking.session_type,
        voucher_code=code,
        exclude_booking=booking.pk,
    )
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.status not in OPEN:
            raise ValidationError(_("This payment is already under way."), code="payment_in_flight")
        fresh = payment_from_quote(quote, booking, current.destination)
        for name in (
            "list_minor",
            "discount_minor",
            "amount_minor",
            "fee_minor",
            "share_minor",
            "commission_percent",
            "voucher",
            "lines",
        ):
            setattr(current, name, getattr(fresh, name))
        current.full_clean()
        current.save()
        if current.amount_minor == 0:  # the voucher covers it all: confirmed now
            settle(current, timezone.now())
            booking_actions.do_confirm_payment(booking, reference="voucher", request=request)
        audit.record(
            "payment.voucher",
            actor=actor,
            role="patient",
            target=current,
            brand=current.brand,
            request=request,
            data={"voucher": current.voucher_id, "amount": current.amount_minor},
        )
    return current


# --- attempts and what Stripe says ----------------------------------------------------------


def do_attempt(payment: Payment, method_id: str, *, actor: Any, request: Any = None) -> Payment:
    """Charge ``method_id`` (a payment method from Stripe.js) for ``payment``.

    Returns the payment after applying Stripe's answer: succeeded (the booking is
    confirmed), requires_action (the page runs the card's authentication), or failed with
    Stripe's message for the patient. Refused while the hold has ended or another attempt
    is under way.
    """
    if not method_id or len(method_id) > 100 or not method_id.isascii():
        raise ValidationError(_("Enter your card details."), code="no_method")
    with transaction.atomic():
        current = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("booking")
            .get(pk=payment.pk)
        )
        booking = current.booking
        if current.status == PaymentStatus.SUCCEEDED:
            return current
        if current.status in IN_FLIGHT:
            raise ValidationError(_("This payment is already under way."), code="payment_in_flight")
        now = timezone.now()
        if booking is None:  # a package: payable while its purchase waits for it
            packages.check_payable(current)
        elif booking.status != BookingStatus.PENDING_PAYMENT or (
            booking.expires_at is not None and now >= booking.expires_at
        ):
            raise ValidationError(
                _("The time held for you has been released. Please choose a time again."),
                code="hold_ended",
            )
        current.attempts += 1
        current.status = PaymentStatus.PROCESSING
        current.failure_message = ""
        current.save(update_fields=["attempts", "status", "failure_message", "updated_at"])
        audit.record(
            "payment.attempt",
            actor=actor,
            role="patient",
            target=current,
            brand=current.brand,
            request=request,
            data={"attempt": current.attempts},
        )
    try:
        intent = stripe_api.create_intent(current, method_id, attempt=current.attempts)
    except stripe_api.CardError as error:
        failed = getattr(getattr(error, "error", None), "payment_intent", None)
        message = error.user_message or str(_("Your card was declined."))
        return mark_failed(current, str(failed["id"]) if failed else "", message)
    except stripe_api.ConnectUnavailable:
        return mark_failed(current, "", str(unavailable().messages[0]))
    except stripe_api.StripeError as error:
        log.warning("payment %s: Stripe refused the attempt: %s", current.pk, type(error).__name__)
        return mark_failed(
            current, "", str(_("The payment could not be processed. Please try again."))
        )
    return apply_intent(current, intent)


def mark_failed(payment: Payment, intent_id: str, message: str) -> Payment:
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.status == PaymentStatus.SUCCEEDED:
            return current
        current.status = PaymentStatus.FAILED
        current.failure_message = message[:300]
        if intent_id:
            current.intent_id = intent_id
        current.save(update_fields=["status", "failure_message", "intent_id", "updated_at"])
    return current


def payment_of_intent(intent: Any) -> Payment | None:
    metadata = intent.get("metadata") or {}
    pk = metadata.get("payment")
    if pk and str(pk).isdigit():
        return Payment.objects.filter(pk=int(pk)).first()
    return Payment.objects.filter(intent_id=intent["id"]).first()


def apply_intent(payment: Payment, intent: Any) -> Payment:
    """Bring ``payment`` in line with ``intent`` as Stripe reports it. Idempotent and
    order-independent: a success is final whichever event arrives last; a failure or an
    authentication step counts only for the payment's latest intent and never undoes a
    success."""
    status = intent["status"]
    with transaction.atomic():
        current = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("brand", "booking")
            .get(pk=payment.pk)
        )
        if current.status == PaymentStatus.SUCCEEDED:
            if status == "succeeded" and intent["id"] != current.intent_id:
                # Money Stripe took twice for one payment: reconcile_payments lists it (stray).
                log.error("payment %s: a second intent %s succeeded", current.pk, intent["id"])
            return current
        latest = not current.intent_id or current.intent_id == intent["id"]
        if status == "succeeded":
            if int(intent["amount"]) != current.amount_minor:
                log.error("payment %s: intent amount differs; not applied", current.pk)
                return current
            current.intent_id = intent["id"]
            settle(current, timezone.now())
            audit.record(
                "payment.succeeded",
                actor=None,
                actor_label="system",
                target=current,
                brand=current.brand,
                data={"booking": current.booking_id, "amount": current.amount_minor},
            )
            if not confirm_booking(current):
                # Paid after the time was released: give it all back, after commit.
                pk = current.pk
                transaction.on_commit(lambda: refunds.refund_released(pk))
            return current
        if not latest:
            return current
        current.intent_id = intent["id"]
        if status == "requires_action":
            current.status = PaymentStatus.REQUIRES_ACTION
        elif status == "processing":
            current.status = PaymentStatus.PROCESSING
        elif status == "canceled":
            current.status = PaymentStatus.CANCELED
        elif status == "requires_payment_method":
            error = intent.get("last_payment_error") or {}
            current.status = PaymentStatus.FAILED
            current.failure_message = (error.get("message") or str(_("Your card was declined.")))[
                :300
            ]
        current.save(update_fields=["status", "intent_id", "failure_message", "updated_at"])
    return current


def confirm_booking(payment: Payment) -> bool:
    booking = payment.booking
    if booking is None:
        return True
    try:
        booking_actions.do_confirm_payment(booking, reference=payment.intent_id)
    except ValidationError:
        booking.refresh_from_db()
        return booking.status == BookingStatus.CONFIRMED
    return True


def sync(payment: Payment) -> Payment:
    """Re-read the payment's intent from Stripe and apply it (the page's poll, the sweeper,
    a webhook): for when a webhook is late or lost."""
    if not payment.intent_id or payment.status == PaymentStatus.SUCCEEDED:
        return payment
    try:
        intent = stripe_api.retrieve_intent(payment.intent_id)
    except stripe_api.StripeError:
        return payment
    return apply_intent(payment, intent)


def release_abandoned(limit: int = 100) -> int:
    """Unpaid payments whose booking no longer waits (the hold ended, or it was cancelled):
    a last look at Stripe (it may have succeeded after all: then it is refunded), then the
    intent is cancelled so the card can no longer be charged."""
    released = 0
    stale = Payment.objects.filter(status__in=[*OPEN, *IN_FLIGHT], booking__isnull=False).exclude(
        booking__status=BookingStatus.PENDING_PAYMENT
    )[:limit]
    for payment in stale:
        if sync(payment).status == PaymentStatus.SUCCEEDED:
            continue
        if payment.intent_id:
            # Already final at Stripe (failed or cancelled): nothing to stop.
            with contextlib.suppress(stripe_api.StripeError):
                stripe_api.cancel_intent(payment.intent_id)
        with transaction.atomic():
            current = Payment.objects.select_for_update().get(pk=payment.pk)
            if current.status != PaymentStatus.SUCCEEDED:
                current.status = PaymentStatus.CANCELED
                current.save(update_fields=["status", "updated_at"])
                released += 1
    return released


def sync_stale(limit: int = 100, age_seconds: int = 60) -> int:
    """Payments in flight for a while: their webhook is late or lost; ask Stripe."""
    cutoff = timezone.now() - timedelta(seconds=age_seconds)
    stale = Payment.objects.filter(status__in=IN_FLIGHT, updated_at__lt=cutoff).exclude(
        intent_id=""
    )[:limit]
    return sum(1 for payment in stale if sync(payment).status == PaymentStatus.SUCCEEDED)
