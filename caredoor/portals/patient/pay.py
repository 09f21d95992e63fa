"""Paying for a held booking: the pay page, the card attempt, the status poll, vouchers.

The views validate and call ``core.payments.checkout``; the page's script (checkout.js)
turns the card into a payment method with Stripe.js and posts its id here. Only Stripe's
answer, read by the server, confirms the booking (docs/payments.md).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.access import access_patient_booking
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.money import format_money
from caredoor.core.payments import checkout, stripe_api
from caredoor.core.payments.models import Payment, PaymentStatus
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import booking_display as show

MESSAGES = {
    PaymentStatus.SUCCEEDED: gettext_lazy("Payment received. Your session is booked."),
    PaymentStatus.PROCESSING: gettext_lazy("Processing your payment…"),
    PaymentStatus.REQUIRES_ACTION: gettext_lazy("Your bank asks you to confirm this payment."),
}


def _booking(request: HttpRequest, ctx: PortalContext, booking_id: int) -> Booking:
    return access_patient_booking(request.user, ctx.brand, booking_id)  # type: ignore[arg-type]


def _answer(payment: Payment, booking: Booking) -> dict[str, Any]:
    booking.refresh_from_db()
    status = payment.status
    message = payment.failure_message if status == PaymentStatus.FAILED else ""
    answer: dict[str, Any] = {
        "status": status,
        "booking_status": booking.status,
        "message": message or str(MESSAGES.get(status, "")),
        "next": reverse("patient:booking", args=[booking.pk]),
    }
    if status == PaymentStatus.REQUIRES_ACTION and payment.intent_id:
        try:
            answer["client_secret"] = stripe_api.retrieve_intent(payment.intent_id)["client_secret"]
        except stripe_api.StripeError:
            answer["message"] = _("The payment could not be processed. Please try again.")
    if booking.status not in (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED):
        answer["message"] = _("The time held for you has been released.")
    return answer


@require_GET
@portal_view(Portal.PATIENT)
def pay(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    if booking.status != BookingStatus.PENDING_PAYMENT:
        return redirect("patient:booking", booking.pk)
    try:
        payment = checkout.open_payment(booking)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("patient:booking", booking.pk)
    if payment is None:
        messages.error(request, _("This session has no price to pay."))
        return redirect("patient:booking", booking.pk)
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    now = timezone.now()
    cfg = stripe_api.config()
    context = {
        "booking": booking,
        "payment": payment,
        "when": show.when(booking.start, zone, now=now),
        "zone_label": show.zone_label(zone_name, booking.start),
        "lines": [
            (line["label"], format_money(line["amount_minor"], payment.currency))
            for line in payment.lines
        ],
        "total": format_money(payment.amount_minor, payment.currency),
        "held_until": show.clock(booking.expires_at, zone) if booking.expires_at else "",
        "expires_at": booking.expires_at.isoformat() if booking.expires_at else "",
        "stripe_js_url": cfg["js_url"],
        "publishable_key": cfg["publishable_key"],
        "payments_ready": bool(cfg["secret_key"] and cfg["publishable_key"]),
        "failed": payment.failure_message if payment.status == PaymentStatus.FAILED else "",
        "in_flight": payment.status in checkout.IN_FLIGHT,
        "voucher_code": payment.voucher.code if payment.voucher_id else "",
    }
    return stripe_api.allow_checkout(render(request, "patient/pay.html", context))


@require_POST
@portal_view(Portal.PATIENT)
def pay_attempt(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    try:
        payment = checkout.open_payment(booking)
    except ValidationError as error:
        return JsonResponse({"message": " ".join(error.messages)}, status=409)
    if payment is None:
        return JsonResponse({"message": _("This session has no price to pay.")}, status=409)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    method = body.get("method") if isinstance(body, dict) else None
    try:
        payment = checkout.do_attempt(
            payment, str(method or ""), actor=request.user, request=request
        )
    except ValidationError as error:
        return JsonResponse(
            {"message": " ".join(error.messages), "code": error.code or ""}, status=409
        )
    return JsonResponse(_answer(payment, booking))


@require_GET
@portal_view(Portal.PATIENT)
def pay_status(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    payment = booking.payments.order_by("-pk").first()
    if payment is None:
        return JsonResponse({"message": _("This session has no price to pay.")}, status=404)
    if payment.status in checkout.IN_FLIGHT:
        payment = checkout.sync(payment)  # Stripe's word, read by the server
    return JsonResponse(_answer(payment, booking))


@require_POST
@portal_view(Portal.PATIENT)
def pay_voucher(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    try:
        payment = checkout.open_payment(booking)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("patient:booking", booking.pk)
    if payment is None or booking.status != BookingStatus.PENDING_PAYMENT:
        return redirect("patient:booking", booking.pk)
    code = request.POST.get("code", "")[:40]
    if request.POST.get("remove"):
        code = ""
    try:
        payment = checkout.do_apply_voucher(payment, code, actor=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("patient:pay", booking.pk)
    if payment.status == PaymentStatus.SUCCEEDED:
        messages.success(request, _("The voucher covers this session. Your session is booked."))
        return redirect("patient:booking", booking.pk)
    if code:
        messages.success(request, _("Voucher applied."))
    return redirect("patient:pay", booking.pk)
