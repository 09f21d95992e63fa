"""The patient's money on this brand: the transaction history (payments and refunds, with
totals per currency), each payment's receipt as a PDF, and the payment section of a
booking's page (what is due, or what was paid and refunded).

Every payment is read through ``caredoor.core.payments.access`` (the patient's own paid
payments on the brand they are on): anything else answers 404. The only write is the
audit event of a receipt download (``core.payments.downloads``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.money import format_money
from caredoor.core.compliance.uploads import content_disposition
from caredoor.core.payments import receipts
from caredoor.core.payments.access import access_patient_payment, patient_payments
from caredoor.core.payments.downloads import do_record_receipt_download
from caredoor.core.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from caredoor.core.specialists.queries import public_name
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient.booking import zone_form

PORTAL = Portal.PATIENT


# --- what a payment's state is, for the patient -------------------------------------------


def refunds_shown(payment: Payment) -> list[Refund]:
    """Refunds made or under way (a refund Stripe failed gave its amount back)."""
    return sorted(
        (r for r in payment.refunds.all() if r.status != RefundStatus.FAILED),
        key=lambda r: (r.succeeded_at or r.created_at, r.pk),
    )


def refunded_minor(payment: Payment) -> int:
    return sum(r.amount_minor for r in payment.refunds.all() if r.status == RefundStatus.SUCCEEDED)


def payment_status(payment: Payment) -> tuple[str, str]:
    """(label, badge tone): Paid, Partly refunded or Refunded."""
    refunded = refunded_minor(payment)
    if refunded and refunded >= payment.amount_minor:
        return _("Refunded"), "info"
    if refunded:
        return _("Partly refunded"), "info"
    return _("Paid"), "ok"


def refund_status(refund: Refund) -> tuple[str, str]:
    if refund.status == RefundStatus.SUCCEEDED:
        return _("Refunded"), "info"
    return _("Refund in progress"), "warn"


def receipt_url(payment: Payment) -> str:
    return reverse("patient:receipt", args=[payment.pk])


# --- the history -----------------------------------------------------------------------------


@dataclass
class HistoryRow:
    kind: str  # "payment" or "refund"
    at: datetime
    date: str
    label: str
    session: str
    session_url: str
    specialist: str
    amount: str
    status: str
    tone: str
    receipt_url: str
    receipt_number: str


@dataclass
class Total:
    currency: str
    paid: int = 0
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.paid - self.refunded

    def text(self, amount: int) -> str:
        return format_money(amount, self.currency)

    @property
    def paid_text(self) -> str:
        return self.text(self.paid)

    @property
    def refunded_text(self) -> str:
        return self.text(-self.refunded) if self.refunded else self.text(0)

    @property
    def net_text(self) -> str:
        return self.text(self.net)


@dataclass
class History:
    rows: list[HistoryRow] = field(default_factory=list)
    totals: list[Total] = field(default_factory=list)


def _session_text(booking: Booking | None, zone: ZoneInfo, now: datetime) -> tuple[str, str]:
    if booking is None:
        return "", ""
    text = _("%(type)s, %(when)s") % {
        "type": booking.session_type.name,
        "when": show.when(booking.start, zone, now=now),
    }
    return text, reverse("patient:booking", args=[booking.pk])


def history(user: Any, brand: Any, zone: ZoneInfo, now: datetime) -> History:
    """The patient's payments and refunds on ``brand``, newest first, and totals per
    currency (paid, refunded, net)."""
    payments = list(
        patient_payments(user, brand).select_related("profile__published", "profile__user")
    )
    out = History()
    totals: dict[str, Total] = {}
    for payment in payments:
        session, session_url = _session_text(payment.booking, zone, now)
        specialist = public_name(payment.profile)
        status, tone = payment_status(payment)
        assert payment.succeeded_at is not None
        out.rows.append(
            HistoryRow(
                kind="payment",
                at=payment.succeeded_at,
                date=show.when(payment.succeeded_at, zone, now=now),
                label=_("Payment"),
                session=session,
                session_url=session_url,
                specialist=specialist,
                amount=format_money(payment.amount_minor, payment.currency),
                status=status,
                tone=tone,
                receipt_url=receipt_url(payment),
                receipt_number=payment.receipt_number,
            )
        )
        total = totals.setdefault(payment.currency, Total(payment.currency))
        total.paid += payment.amount_minor
        for refund in refunds_shown(payment):
            at = refund.succeeded_at or refund.created_at
            r_status, r_tone = refund_status(refund)
            out.rows.append(
                HistoryRow(
                    kind="refund",
                    at=at,
                    date=show.when(at, zone, now=now),
                    label=_("Refund"),
                    session=session,
                    session_url=session_url,
                    specialist=specialist,
                    amount=format_money(-refund.amount_minor, payment.currency),
                    status=r_status,
                    tone=r_tone,
                    receipt_url="",
                    receipt_number=payment.receipt_number,
                )
            )
            if refund.status == RefundStatus.SUCCEEDED:
                total.refunded += refund.amount_minor
    out.rows.sort(key=lambda row: (row.at, row.kind == "refund"), reverse=True)
    out.totals = [totals[c] for c in sorted(totals)]
    return out


@require_GET
@portal_view(PORTAL)
def payments(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    now = timezone.now()
    found = history(request.user, ctx.brand, zone, now)
    return render(
        request,
        "patient/payments/history.html",
        {
            "ctx": ctx,
            "rows": found.rows,
            "totals": found.totals,
            "zone_label": show.zone_label(zone_name, now),
            "zone_form": zone_form(request, zone_name),
            "bookings_url": reverse("patient:bookings"),
        },
    )


@require_GET
@portal_view(PORTAL)
def receipt(request: HttpRequest, ctx: PortalContext, payment_id: int) -> HttpResponse:
    payment = access_patient_payment(request.user, ctx.brand, payment_id)  # type: ignore[arg-type]
    data = receipts.receipt_pdf(payment)
    do_record_receipt_download(payment, request.user, role=ctx.role, request=request)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Length"] = str(len(data))
    response["Content-Disposition"] = content_disposition(receipts.filename(payment), inline=False)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- the booking page's payment section -------------------------------------------------------


@dataclass
class PaidPayment:
    amount: str
    paid_on: str
    status: str
    tone: str
    receipt_url: str
    receipt_number: str
    refunds: list[tuple[str, str, str]]  # (date, amount, status)
    net: str


@dataclass
class BookingPayment:
    due: bool = False
    due_by: str = ""
    due_amount: str = ""
    pay_url: str = ""
    paid: list[PaidPayment] = field(default_factory=list)


def booking_payment(
    user: Any, brand: Any, booking: Booking, zone: ZoneInfo, now: datetime
) -> BookingPayment | None:
    """What the booking page says about money: a payment due (with its deadline and the
    way to pay), or the payments made for it with their receipts and refunds; None when
    there is nothing to say (free, covered, or not paid and no longer payable)."""
    section = BookingPayment()
    if (
        booking.status == BookingStatus.PENDING_PAYMENT
        and booking.expires_at is not None
        and not show.lapsed(booking, now)
    ):
        open_payment = (
            booking.payments.exclude(status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED])
            .order_by("-pk")
            .first()
        )
        section.due = True
        section.due_by = show.when(booking.expires_at, zone, now=now)
        section.due_amount = (
            format_money(open_payment.amount_minor, open_payment.currency)
            if open_payment is not None
            else show.booking_price(booking)
        )
        section.pay_url = reverse("patient:pay", args=[booking.pk])
    for payment in patient_payments(user, brand).filter(booking=booking).order_by("pk"):
        status, tone = payment_status(payment)
        assert payment.succeeded_at is not None
        section.paid.append(
            PaidPayment(
                amount=format_money(payment.amount_minor, payment.currency),
                paid_on=show.when(payment.succeeded_at, zone, now=now),
                status=status,
                tone=tone,
                receipt_url=receipt_url(payment),
                receipt_number=payment.receipt_number,
                refunds=[
                    (
                        show.when(r.succeeded_at or r.created_at, zone, now=now),
                        format_money(-r.amount_minor, payment.currency),
                        refund_status(r)[0],
                    )
                    for r in refunds_shown(payment)
                ],
                net=format_money(payment.amount_minor - refunded_minor(payment), payment.currency),
            )
        )
    if not section.due and not section.paid:
        return None
    return section
