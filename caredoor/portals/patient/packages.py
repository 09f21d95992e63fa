"""Packages of sessions in the patient portal: a specialist's packages on this brand and the
patient's own with that specialist, buying one, and paying for it on a pay page that works
like a session's (the same checkout.js; docs/payments.md, "Packages").

The views validate and call ``core.payments.packages`` and ``core.payments.checkout``.
Purchases are read through ``packages.access_purchase`` (the patient's own on this brand):
anything else answers 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.money import format_money
from caredoor.core.payments import checkout, packages, stripe_api
from caredoor.core.payments.models import (
    PackageOffer,
    PackagePurchase,
    PackageStatus,
    PaymentStatus,
)
from caredoor.core.specialists.queries import access_public_profile, public_name
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import booking_display as show

PORTAL = Portal.PATIENT

MESSAGES = {
    PaymentStatus.SUCCEEDED: gettext_lazy("Payment received. Your package is ready to use."),
    PaymentStatus.PROCESSING: gettext_lazy("Processing your payment…"),
    PaymentStatus.REQUIRES_ACTION: gettext_lazy("Your bank asks you to confirm this payment."),
}

TONES = {
    PackageStatus.PENDING: "warn",
    PackageStatus.ACTIVE: "ok",
    PackageStatus.USED_UP: "info",
    PackageStatus.EXPIRED: "info",
    PackageStatus.REFUNDED: "info",
}


@dataclass(frozen=True)
class OfferRow:
    offer: PackageOffer
    price: str
    per_session: str


@dataclass(frozen=True)
class PurchaseRow:
    purchase: PackagePurchase
    name: str
    status: str
    tone: str
    left: int
    total: int
    expires: str
    expires_at: datetime | None
    pay_url: str


def _date(moment: datetime | None, zone: ZoneInfo) -> str:
    return date_format(moment.astimezone(zone).date(), "DATE_FORMAT") if moment else ""


def _purchase_row(purchase: PackagePurchase, zone: ZoneInfo) -> PurchaseRow:
    status = packages.status_now(purchase)
    return PurchaseRow(
        purchase=purchase,
        name=purchase.offer.name,
        status=str(PackageStatus(status).label),
        tone=TONES.get(status, "info"),
        left=packages.sessions_left(purchase) if status == PackageStatus.ACTIVE else 0,
        total=purchase.sessions_total,
        expires=_date(purchase.expires_at, zone),
        expires_at=purchase.expires_at,
        pay_url=reverse("patient:package_pay", args=[purchase.pk])
        if status == PackageStatus.PENDING
        else "",
    )


@require_GET
@portal_view(PORTAL)
def package_list(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    published = access_public_profile(brand, profile_id)  # 404 unless listed here
    zone = ZoneInfo(show.viewer_zone_name(request))
    offers = [
        OfferRow(
            offer=offer,
            price=format_money(offer.price_minor, offer.currency),
            per_session=format_money(offer.price_minor // offer.sessions, offer.currency),
        )
        for offer in packages.offers_for(brand, profile_id)
    ]
    purchases = [
        _purchase_row(p, zone) for p in packages.purchases_of(request.user, brand, profile_id)
    ]
    context = {
        "profile_id": profile_id,
        "name": published.data.get("display_name", ""),
        "offers": offers,
        "purchases": purchases,
    }
    return render(request, "patient/packages/list.html", context)


@require_POST
@portal_view(PORTAL)
def package_buy(
    request: HttpRequest, ctx: PortalContext, profile_id: int, offer_id: int
) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    access_public_profile(brand, profile_id)
    offer = PackageOffer.objects.filter(
        pk=offer_id, brand=brand, profile_id=profile_id, is_active=True
    ).first()
    if offer is None:
        raise Http404
    try:
        purchase = packages.do_buy(offer, patient=request.user, brand=brand, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("patient:packages", profile_id)
    return redirect("patient:package_pay", purchase.pk)


def _purchase(request: HttpRequest, ctx: PortalContext, purchase_id: int) -> PackagePurchase:
    assert ctx.brand is not None
    return packages.access_purchase(request.user, ctx.brand, purchase_id)


@require_GET
@portal_view(PORTAL)
def package_pay(request: HttpRequest, ctx: PortalContext, purchase_id: int) -> HttpResponse:
    purchase = _purchase(request, ctx, purchase_id)
    if purchase.status != PackageStatus.PENDING:
        return redirect("patient:packages", purchase.profile_id)
    payment = purchase.payment
    cfg = stripe_api.config()
    context = {
        "purchase": purchase,
        "payment": payment,
        "name": purchase.offer.name,
        "specialist": public_name(purchase.profile),
        "valid_days": purchase.offer.valid_days,
        "lines": [
            (line["label"], format_money(line["amount_minor"], payment.currency))
            for line in payment.lines
        ],
        "total": format_money(payment.amount_minor, payment.currency),
        "stripe_js_url": cfg["js_url"],
        "publishable_key": cfg["publishable_key"],
        "payments_ready": bool(cfg["secret_key"] and cfg["publishable_key"]),
        "failed": payment.failure_message if payment.status == PaymentStatus.FAILED else "",
        "in_flight": payment.status in checkout.IN_FLIGHT,
        "back_url": reverse("patient:packages", args=[purchase.profile_id]),
    }
    return stripe_api.allow_checkout(render(request, "patient/packages/pay.html", context))


def _answer(purchase: PackagePurchase) -> dict[str, Any]:
    """The pay page's answer, in checkout.js's terms: the package stands in for the booking
    ("confirmed" once it is active)."""
    purchase.refresh_from_db()
    payment = purchase.payment
    payment.refresh_from_db()
    status = payment.status
    message = payment.failure_message if status == PaymentStatus.FAILED else ""
    paid = status == PaymentStatus.SUCCEEDED and purchase.status != PackageStatus.PENDING
    answer: dict[str, Any] = {
        "status": status,
        "booking_status": "confirmed" if paid else "pending_payment",
        "message": message or str(MESSAGES.get(status, "")),
        "next": reverse("patient:packages", args=[purchase.profile_id]),
    }
    if status == PaymentStatus.REQUIRES_ACTION and payment.intent_id:
        try:
            answer["client_secret"] = stripe_api.retrieve_intent(payment.intent_id)["client_secret"]
        except stripe_api.StripeError:
            answer["message"] = _("The payment could not be processed. Please try again.")
    return answer


@require_POST
@portal_view(PORTAL)
def package_pay_attempt(request: HttpRequest, ctx: PortalContext, purchase_id: int) -> HttpResponse:
    purchase = _purchase(request, ctx, purchase_id)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    method = body.get("method") if isinstance(body, dict) else None
    try:
        checkout.do_attempt(
            purchase.payment, str(method or ""), actor=request.user, request=request
        )
    except ValidationError as error:
        return JsonResponse(
            {"message": " ".join(error.messages), "code": error.code or ""}, status=409
        )
    return JsonResponse(_answer(purchase))


@require_GET
@portal_view(PORTAL)
def package_pay_status(request: HttpRequest, ctx: PortalContext, purchase_id: int) -> HttpResponse:
    purchase = _purchase(request, ctx, purchase_id)
    if purchase.payment.status in checkout.IN_FLIGHT:
        checkout.sync(purchase.payment)  # Stripe's word, read by the server
    return JsonResponse(_answer(purchase))
